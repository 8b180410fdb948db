"""README.md's CLI reference names the commands and `read` flags the CLI has, and no others."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from source_solidafy import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_cli_table_lists_every_command() -> None:
    table = _section("CLI reference").split("`read` options", 1)[0]
    rows = set(re.findall(r"^\| `([a-z]+)", table, flags=re.M)) - {"version"}
    assert rows | {"state"} == set(_subparsers())  # `state merge` is in the `plan` row
    assert "`state merge --plan P" in table


def test_the_read_options_are_the_read_flags() -> None:
    block = _section("CLI reference").split("`read` options", 1)[1].split("```", 2)[1]
    documented = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", block, flags=re.M))
    flags = {s for a in _subparsers()["read"]._actions for s in a.option_strings if s.startswith("--")}
    flags -= {"--help"}
    assert documented <= flags, f"README documents read flags the CLI lacks: {sorted(documented - flags)}"
    in_text = {f for f in flags - documented if f in block}  # --shard and --units: in --plan's line
    assert flags - documented - in_text == set(), f"read flags the README omits: {sorted(flags - documented - in_text)}"
