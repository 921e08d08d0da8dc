"""The CLI: `python -m engine <verb> ... [--json]`.

Each verb lives in engine/cli/<verb>.py and exposes `add_parser(subparsers)` (which sets
`func=run` on its parser) and `run(args) -> dict`. The dict is printed as JSON with --json,
or as readable lines otherwise. User errors exit with code 2 and one line, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys

from . import cli
from .errors import MotionLexError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="MotionLex engine")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="<verb>")
    for info in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{cli.__name__}.{info.name}")
        verb_parser = module.add_parser(sub)
        verb_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def print_human(result: dict, indent: str = "") -> None:
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            print_human(value, indent + "  ")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{indent}{key}:")
            for item in value:
                print(f"{indent}  - " + ", ".join(f"{k}={v}" for k, v in item.items()))
        else:
            print(f"{indent}{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except MotionLexError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, default=float))
    else:
        print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
