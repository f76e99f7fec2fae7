"""The `xlogo-gym` command line. Each command lives in a module with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from xlogo_gym.errors import XLogoError

#: Modules that add sub-commands; heavy dependencies are imported inside their handlers.
COMMAND_MODULES = [
    "xlogo_gym.commands.core",
    "xlogo_gym.commands.generate",
    "xlogo_gym.commands.render",
    "xlogo_gym.commands.train_ppo",
    "xlogo_gym.commands.train",
    "xlogo_gym.commands.evaluate",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlogo-gym", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except XLogoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
