"""Start the MotionLex browser app. Argument parsing and nothing else; app/main.py does the rest.

    python launch.py [--host 127.0.0.1] [--port 7860] [--data SPEC] [--checkpoint DIR] [--auth user:pass]
"""
from __future__ import annotations

import argparse
import ipaddress
import os
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MotionLex: the browser workbench")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--data", default="synthetic", help="dataset spec, e.g. synthetic or bvh:/folder")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the shipped model)")
    parser.add_argument("--auth", default=None, help="user:password, required for a non-loopback --host")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        auth = parse_auth(args.auth)
    except ValueError as err:
        print(f"launch.py: {err}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and auth is None:
        print(f"launch.py: refusing to serve on {args.host!r} without --auth user:password: anyone on the network "
              "could use it. Bind 127.0.0.1 (the default) or add --auth.", file=sys.stderr)
        return 2
    from app.main import serve
    from engine import Engine
    serve(Engine(checkpoint=args.checkpoint, data=args.data), args.host, args.port, auth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
