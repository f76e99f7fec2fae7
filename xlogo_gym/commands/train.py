"""`train-sft`: supervised training of the transformer policy (options = the fields of `SFTConfig`).

The options are built from the dataclass fields of `agents.policy.config.SFTConfig` and
`ModelConfig` and their docstrings, so the two cannot drift apart; torch is imported only when
the command runs.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import os
from typing import Any

from agents.policy.config import ModelConfig, SFTConfig


def _field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass."""
    body = ast.parse(inspect.getsource(cls)).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = str(after.value.value)  # type: ignore[union-attr]
    return docs


def _add_fields(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    docs = _field_docs(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        kind = str(f.type)
        helptext = f"{docs.get(f.name, '')} (default: {default})"
        if kind.startswith("list"):
            parser.add_argument(flag, nargs="*", default=default, metavar="X", help=helptext)
        elif kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=helptext)
        else:
            convert = int if "int" in kind else float if "float" in kind else str
            parser.add_argument(flag, type=convert, default=default, help=helptext)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-sft", help="supervised training of the transformer policy on generated tasks",
                       description=__doc__.splitlines()[0])
    _add_fields(p.add_argument_group("training"), SFTConfig, skip=("model",))
    _add_fields(p.add_argument_group("model"), ModelConfig)
    p.set_defaults(run=_train_sft)


def _train_sft(args: argparse.Namespace) -> int:
    from agents.policy.train_sft import train_sft

    values: dict[str, Any] = vars(args)
    model = ModelConfig(**{f.name: values[f.name] for f in dataclasses.fields(ModelConfig)})
    config = SFTConfig(**{f.name: values[f.name] for f in dataclasses.fields(SFTConfig) if f.name != "model"},
                       model=model)
    result = train_sft(config)
    print(json.dumps(result, indent=2))
    print(f"policy written to {os.path.abspath(config.out)} "
          f"(evaluate it with: xlogo-gym evaluate --agent {config.out} --suite mini-85)")
    return 0
