"""Start the MotionLex browser app. Argument parsing and nothing else; app/main.py does the rest.

    python launch.py [--host 127.0.0.1] [--port 7860] [--data SPEC] [--checkpoint DIR]
                     [--auth user:pass | --auth-file FILE] [--share] [--max-queue 64]

Who may connect: the server binds 127.0.0.1 (this machine only) unless told otherwise, and refuses
a non-loopback --host or --share (a public gradio.live link) without credentials. --auth-file names a
file of `user:password` lines that only its owner may read (chmod 600); it keeps the password out of
the process list, where --auth shows it to every user of the machine.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import stat
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no network calls


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything: treat as public


def parse_auth(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must be user:password with both parts non-empty")
    return user, password


def read_auth_file(path: str) -> list[tuple[str, str]]:
    """`user:password` lines (blank lines and # comments skipped) from a file only its owner may read."""
    try:
        info = os.stat(path)
    except OSError as err:
        raise ValueError(f"--auth-file {path}: cannot read it ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"--auth-file {path}: not a regular file")
    if info.st_mode & 0o077:
        raise ValueError(f"--auth-file {path}: it is readable or writable by group or others (mode "
                         f"{stat.S_IMODE(info.st_mode):04o}); make it private first: chmod 600 {path}")
    if info.st_size > 64 * 1024:
        raise ValueError(f"--auth-file {path}: {info.st_size} bytes is too large for a list of user:password lines")
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--auth-file {path}: cannot read it ({err})") from None
    users = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            users.append(parse_auth(line.strip()))
        except ValueError:
            raise ValueError(f"--auth-file {path}: line {number} is not user:password with both parts non-empty") from None
    if not users:
        raise ValueError(f"--auth-file {path}: no user:password line in it")
    return users


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MotionLex: the browser workbench")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--data", default="synthetic", help="dataset spec, e.g. synthetic or bvh:/folder")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped model)")
    parser.add_argument("--auth", default=None,
                        help="user:password, required for a non-loopback --host or --share (visible in the process "
                             "list: prefer --auth-file)")
    parser.add_argument("--auth-file", default=None, metavar="FILE",
                        help="a file of user:password lines, readable by its owner only (chmod 600)")
    parser.add_argument("--share", action="store_true",
                        help="also serve through a public gradio.live link (needs --auth or --auth-file)")
    parser.add_argument("--max-queue", type=int, default=64, metavar="N",
                        help="requests that may wait (beyond the 4 of each kind running); more get 'Queue is full'")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        users = ([parse_auth(args.auth)] if args.auth is not None else []) + \
            (read_auth_file(args.auth_file) if args.auth_file is not None else [])
    except ValueError as err:
        print(f"launch.py: {err}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not users:
        print(f"launch.py: refusing to serve on {args.host!r} without --auth user:password (or --auth-file): anyone "
              "on the network could use it. Bind 127.0.0.1 (the default) or add --auth.", file=sys.stderr)
        return 2
    if args.share and not users:
        print("launch.py: refusing --share without --auth user:password (or --auth-file): a public gradio.live link "
              "lets anyone on the internet use this machine. Add --auth.", file=sys.stderr)
        return 2
    if args.max_queue < 1:
        print(f"launch.py: --max-queue must be at least 1, got {args.max_queue}", file=sys.stderr)
        return 2
    from app.main import serve
    from engine import Engine
    serve(Engine(checkpoint=args.checkpoint, data=args.data), args.host, args.port, users or None,
          max_queue=args.max_queue, share=args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
