"""The command line's arguments: one parser for both flavours (``cli.py`` acts on what it parses)."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from source_solidafy import __version__
from source_solidafy.errors import UsageError

CONNECTOR_HELP = "built-in connector name or alias, or a path to a connector YAML file"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse prints usage and exits 2; we raise instead
        raise UsageError(f"{self.prog}: {message}")


def _add_config(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("-c", "--connector", help=CONNECTOR_HELP)
    sp.add_argument("--config-json", metavar="JSON", help="inline config JSON")
    sp.add_argument("-C", "--config", metavar="FILE", help="config file (JSON)")
    sp.add_argument("-v", "--verbose", action="store_true", help="verbose output")


def _read_parser(sub: Any) -> None:
    sp = sub.add_parser("read", help="sync data from streams")
    _add_config(sp)
    sp.add_argument("--streams", default="", help="streams to sync (comma-separated, empty = all)")
    sp.add_argument("--catalog", metavar="FILE", help="Airbyte configured catalog (Airbyte flavour)")
    sp.add_argument("-o", "--output", help="output directory or URI (s3://, r2://, gs://, az://)")
    sp.add_argument("-s", "--state", metavar="FILE", help="state file (read if present, written back)")
    sp.add_argument("--state-json", metavar="JSON", help="inline state JSON")
    sp.add_argument("-f", "--format", default="json", help="json, pretty or parquet (default json)")
    sp.add_argument("--max-records", type=int, metavar="N", help="maximum records per stream")
    sp.add_argument("--state-per-page", action="store_true", help="emit state after each page")
    sp.add_argument("--concurrency", type=int, default=4, metavar="N", help="HTTP requests in flight for the whole sync (streams, partitions, parents)")
    sp.add_argument("--cursor-field", action="append", default=[], metavar="STREAM=COLUMN",
                    help="incremental column of a database stream (repeatable)")
    sp.add_argument("--compression", default="zstd", help="Parquet compression (zstd, snappy, gzip, none)")
    sp.add_argument("--strict", action="store_true",
                    help="fail a stream on any warning (e.g. a paginator that stopped early)")
    from source_solidafy.scale.cli import add_read_args

    add_read_args(sp)


def _list_parser(sub: Any) -> None:
    sp = sub.add_parser("list", help="list built-in connectors")
    sp.add_argument("--format", default="text", choices=["text", "json"])


def _config_parsers(sub: Any, name: str) -> None:
    text = {"check": "test the connection", "streams": "list stream names", "discover": "streams with JSON schemas",
            "spec": "connector specification"}[name]
    sp = sub.add_parser(name, help=text)
    _add_config(sp)
    if name == "discover":
        sp.add_argument("--sample", type=int, default=100, metavar="N",
                        help="infer a schema from N records for streams that declare none (0: do not read)")


def _scale_parsers(sub: Any) -> None:
    from source_solidafy.scale.cli import add_parsers

    add_parsers(sub, _add_config)


def _validate_parser(sub: Any) -> None:
    sp = sub.add_parser("validate", help="validate a connector YAML file")
    sp.add_argument("file")
    sp.add_argument("--format", default="text", choices=["text", "json"])


def _demo_parser(sub: Any) -> None:
    sp = sub.add_parser("demo", help="sync a small local demo API (no credentials needed)")
    sp.add_argument("-o", "--output", default="output", help="output directory (default ./output)")
    sp.add_argument("-f", "--format", default="parquet", choices=["parquet", "json"])


# The commands in the order of the help, each with what adds its subparser (``plan`` adds ``state`` too).
_COMMANDS: tuple[tuple[tuple[str, ...], Callable[[Any], None]], ...] = (
    (("list",), _list_parser),
    *(((name,), functools.partial(_config_parsers, name=name)) for name in ("check", "streams", "discover", "spec")),
    (("read",), _read_parser),
    (("plan", "state"), _scale_parsers),
    (("validate",), _validate_parser),
    (("demo",), _demo_parser),
    (("serve",), lambda sub: sub.add_parser("serve", help="run the HTTP server (see serve --help)", add_help=False)),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``command`` (a run's first argument) only that command's arguments, when it
    is one: a run parses one command, and building the others' costs ~5 ms of every start-up."""
    parser = _Parser(prog="solidafy-cdk", description="Extract REST APIs and SQL databases to JSON lines or Parquet.")
    parser.add_argument("--version", action="version", version=f"solidafy-cdk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    known = any(command in names for names, _ in _COMMANDS)
    for names, add in _COMMANDS:
        if not known or command in names:
            add(sub)
    return parser
