"""The `xlogo-gym` command line, on top of everything else: `xlogo-gym COMMAND [OPTIONS]`.

A command is a function of one dataclass whose fields, with the docstrings under them, are the
command's options (`xlogo-gym COMMAND --help`); `parse` reads a command line into that dataclass
with one call of tyro, as CleanRL's scripts do. The core's commands are listed in CORE_COMMANDS;
other packages add theirs through the entry-point group `xlogo_gym.commands` (the `agents`
package adds evaluate, compare, train-sft and train-ppo there), so the core never imports them.
A command's module is imported only when the command runs, so `xlogo-gym --help` and
`xlogo-gym verify` need nothing but numpy. Without tyro (a base install) the standard library's
argparse reads the same options.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import logging
import sys
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

from xlogo_gym.errors import XLogoError

#: The entry-point group through which packages add commands: each entry point names a function
#: that returns their `Command`s.
ENTRY_POINT_GROUP = "xlogo_gym.commands"
#: A dataclass field with `metadata={POSITIONAL: True}` is a positional argument, not an option.
POSITIONAL = "positional"
#: A dataclass field with `metadata={FLAG: "name"}` is the option `--name` (e.g. `--from`, a Python keyword).
FLAG = "flag"

T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    """A command: its name, a line for `xlogo-gym --help`, and `module:function`.

    The function takes the command's options (a dataclass, named by its type annotation) and
    returns the exit status (None: 0). `extra` names the optional dependencies it needs
    (`pip install "xlogo-gym[EXTRA]"`), for the message when one is missing.
    """

    name: str
    summary: str
    target: str
    extra: str | None = None

    def function(self) -> Callable[[Any], int | None]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)

    def run(self, argv: Sequence[str]) -> int:
        """Parse `argv` into the function's options and run it."""
        function = self.function()
        first = next(iter(inspect.signature(function).parameters))
        options = typing.get_type_hints(function)[first]
        return int(function(parse(options, argv, prog=f"xlogo-gym {self.name}")) or 0)


CORE_COMMANDS = (
    Command("verify", "run a program on a task and print the verdict", "xlogo_gym.commands.verify:verify"),
    Command("check-suite", "run every reference solution of a reference-format directory",
            "xlogo_gym.commands.check_suite:check_suite"),
    Command("generate", "generate verified synthetic tasks (JSONL shards or a suite file)",
            "xlogo_gym.commands.generate:generate"),
    Command("stats", "distribution tables of tasks beside the real tasks' statistics",
            "xlogo_gym.commands.stats:stats", "eval"),
    Command("render", "draw a task and a program's run as PNG, animated GIF or MP4",
            "xlogo_gym.commands.render:render", "render"),
    Command("play", "play tasks in a window: type or click commands, run them, see the verdict",
            "xlogo_gym.commands.play:play", "render"),
    Command("benchmark", "download the real XLogoMiniProg benchmark's asset files (checked by sha256)",
            "xlogo_gym.commands.benchmark:benchmark"),
)


def commands() -> dict[str, Command]:
    """Every command by name: the core's, then those of the packages that register some."""
    found = {c.name: c for c in CORE_COMMANDS}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        register: Callable[[], Iterable[Command]] = point.load()
        found.update((c.name, c) for c in register())
    return found


# -- options from dataclasses -----------------------------------------------------------------

def parse(options: type[T], argv: Sequence[str], prog: str | None = None) -> T:
    """`options` (a dataclass) read from command-line arguments.

    Each field is an option `--field-name` (booleans: `--name` / `--no-name`; lists take several
    values), or a positional argument when its metadata says POSITIONAL (before, between or after
    the options: `render mini-061 --suite mini-85 'fd fd'`); the fields of a nested
    dataclass are options of their own, without a prefix. The field docstrings are the help.
    """
    try:
        import tyro
    except ImportError:  # a base install: the standard library reads the same options
        return _parse_with_argparse(options, argv, prog)
    value = tyro.cli(_with_markers(options, tyro), args=list(argv), prog=prog, config=(tyro.conf.OmitArgPrefixes,))
    value.__class__ = options  # the class itself, not the marked-up subclass tyro was given
    return value


def _with_markers(options: type[T], tyro: Any) -> type[T]:
    """`options`, or a subclass whose positional and renamed fields carry tyro's markers."""
    hints = typing.get_type_hints(options, include_extras=True)
    marked = {f.name: typing.Annotated[tyro.conf.Positional[hints[f.name]],
                                       tyro.conf.arg(metavar=f.name.upper())]
              for f in dataclasses.fields(options) if f.metadata.get(POSITIONAL)}  # type: ignore[arg-type]
    marked |= {f.name: typing.Annotated[hints[f.name], tyro.conf.arg(name=f.metadata[FLAG])]
               for f in dataclasses.fields(options) if FLAG in f.metadata}  # type: ignore[arg-type]
    if not marked:
        return options
    body = {"__annotations__": marked, "__module__": options.__module__, "__doc__": options.__doc__,
            **{f.name: f for f in dataclasses.fields(options) if f.name in marked}}  # type: ignore[arg-type]
    return dataclass(type(options.__name__, (options,), body))


def _parse_with_argparse(options: type[T], argv: Sequence[str], prog: str | None) -> T:
    parser = argparse.ArgumentParser(prog=prog, description=(options.__doc__ or "").strip(),
                                     epilog="With tyro installed (any extra of xlogo-gym brings it) --help also "
                                            "says what each option does.")

    def add(cls: type) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kind = hints[f.name]
            if dataclasses.is_dataclass(kind):
                add(kind)  # type: ignore[arg-type]
                continue
            if type(None) in typing.get_args(kind):  # X | None -> X
                kind = next(k for k in typing.get_args(kind) if k is not type(None))
            many = typing.get_origin(kind) is list
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            required = default is dataclasses.MISSING
            settings: dict[str, Any] = {"default": None if required else default}
            if kind is bool:
                settings["action"] = argparse.BooleanOptionalAction
            else:
                settings["type"] = typing.get_args(kind)[0] if many else kind
                if many:
                    settings["nargs"] = "+" if required else "*"
            if f.metadata.get(POSITIONAL):
                settings.setdefault("nargs", None if required else "?")
                parser.add_argument(f.name, metavar=f.name.upper(), **settings)
            else:
                flag = f.metadata.get(FLAG, f.name.replace("_", "-"))
                parser.add_argument("--" + flag, dest=f.name, required=required, **settings)

    def build(cls: type, values: dict[str, Any]) -> Any:
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: build(hints[f.name], values) if dataclasses.is_dataclass(hints[f.name])
                      else values[f.name] for f in dataclasses.fields(cls)})

    add(options)  # positional arguments may come before, between or after the options
    return build(options, vars(parser.parse_intermixed_args(list(argv))))


# -- the program -----------------------------------------------------------------------------

def usage(table: dict[str, Command]) -> str:
    width = max(len(name) for name in table)
    lines = ["usage: xlogo-gym COMMAND [OPTIONS]  (xlogo-gym COMMAND --help: the command's options)", "",
             "XLogoOnline-Mini program synthesis: the emulator, task suites and generator, the env, agents and "
             "their evaluation.", "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in table.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    table = commands()
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(table), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command = table.get(argv[0])
    if command is None:
        print(f"{usage(table)}\n\nerror: unknown command {argv[0]!r}", file=sys.stderr)
        return 2
    try:
        return command.run(argv[1:])
    except SystemExit as stop:  # --help, or options that could not be read
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
    except XLogoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if command.extra is None or (err.name or "").split(".")[0] in ("xlogo_gym", "agents"):
            raise
        print(f'error: {command.name} needs {err.name}: pip install "xlogo-gym[{command.extra}]"', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
