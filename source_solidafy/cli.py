"""Command-line front door for both flavours; argument parsing only, the work is in api.py.

solidafy flavour (the original README): ``solidafy-cdk read --connector stripe --config-json '{...}'``.
Airbyte flavour: ``source-solidafy read --config c.json --catalog k.json [--state s.json]``; chosen when
the program is called ``source-solidafy``, when ``--catalog`` is given, or with SOLIDAFY_FLAVOUR=airbyte.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from source_solidafy import protocol as p
from source_solidafy.cli_parser import build_parser as build_parser  # the arguments; re-exported
from source_solidafy.errors import ConfigError, SolidafyError, UsageError, not_utf8

if TYPE_CHECKING:
    from source_solidafy.config_updates import KeyPath

# -- helpers ------------------------------------------------------------------------------------------


def _json_arg(text: str, where: str) -> Any:
    from source_solidafy import jsoncodec

    try:
        return jsoncodec.loads(text)
    except jsoncodec.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc})") from None


def _json_file(path: str, what: str) -> Any:
    """A JSON file by path or object-store URI (s3:// r2:// gs:// az://)."""
    from source_solidafy.small_files import is_remote, read_file

    remote = is_remote(path)
    if not remote and not Path(path).is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        data = read_file(path)[0] if remote else Path(path).read_bytes()
        if data is None:
            raise ConfigError(f"{what} file not found: {path}")
        return _json_arg(data.decode("utf-8"), path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: {what} file is not UTF-8 text ({not_utf8(exc)})") from None


def _config(args: argparse.Namespace) -> dict[str, Any]:
    where = "config"
    if getattr(args, "config_json", None):
        config, where = _json_arg(args.config_json, "--config-json"), "--config-json"
    elif getattr(args, "config", None):
        config, where = _json_file(args.config, "config"), args.config
    else:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: config must be a JSON object, got {type(config).__name__}")
    return config


def _connector(args: argparse.Namespace, config: dict[str, Any]) -> str | None:
    return args.connector or config.get("connector") or os.environ.get("SOLIDAFY_CONNECTOR") or None


def _writer(pretty: bool = False) -> p.NdjsonWriter:
    return p.NdjsonWriter(sys.stdout.buffer, pretty=pretty)


def config_saver(args: argparse.Namespace, airbyte: bool) -> Callable[[dict[str, Any], list[KeyPath]], list[Any]]:
    """What the CLI does when the connector changes its config (a token endpoint rotated the refresh token):
    rewrite ``--config FILE`` at once (atomically: the old token may be revoked already) and say so on
    stderr, without the value; the Airbyte flavour also emits the CONTROL message on stdout."""

    def save(config: dict[str, Any], paths: list[KeyPath]) -> list[Any]:
        from source_solidafy.config_updates import describe, save_config_file

        keys, location = describe(paths), None if getattr(args, "config_json", None) else args.config
        if location:
            try:
                save_config_file(location, config, paths)
                sys.stderr.write(f"{location}: saved the new {keys} (the token endpoint rotated it)\n")
            except SolidafyError as exc:
                sys.stderr.write(f"error: {location}: could not save the new {keys}; the next sync needs it: {exc}\n")
        elif not airbyte:
            sys.stderr.write(f"warning: the token endpoint rotated {keys}; the config came from --config-json, so "
                             "the new value is not saved and the next sync may be refused: give --config FILE\n")
        sys.stderr.flush()
        return [p.control_config(config)] if airbyte else []

    return save


# -- commands -----------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from source_solidafy import registry

    infos = registry.builtin_connectors()
    if args.format == "json":
        rows = [{"name": i.name, "aliases": list(i.aliases), "category": i.category,
                 "description": i.description, "streams": list(i.stream_names) if i.kind == "rest" else None}
                for i in infos]
        _writer().write([{"type": "CONNECTORS", "connectors": rows}])
        return 0
    width = max(len(i.name) for i in infos)
    lines = [f"{'NAME'.ljust(width)}  {'ALIASES'.ljust(20)}  {'CATEGORY'.ljust(16)}  DESCRIPTION"]
    for i in infos:
        aliases = ", ".join(i.aliases) or "-"
        lines.append(f"{i.name.ljust(width)}  {aliases.ljust(20)}  {i.category.ljust(16)}  {i.description}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def cmd_spec(args: argparse.Namespace) -> int:
    from source_solidafy import api

    config = _config(args)
    _writer().write([api.spec(_connector(args, config))])
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from source_solidafy import api

    config = _config(args)
    writer = _writer()
    save = config_saver(args, args.airbyte)
    status = api.check(api.load_connector(_connector(args, config)), config,
                       on_config=lambda cfg, paths: writer.write(save(cfg, paths)))
    writer.write([status])
    return 0


def cmd_streams(args: argparse.Namespace) -> int:
    from source_solidafy import api

    config = _config(args)
    connector = _connector(args, config)
    quick = api.builtin_rest(connector)
    source = quick.name if quick is not None else api.load_connector(connector)
    names = api.streams(source, config or None)
    _writer().write([p.streams_message(source if isinstance(source, str) else source.name, names)])
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from source_solidafy import api

    config = _config(args)
    writer = _writer()
    save = config_saver(args, args.airbyte)
    catalog = api.discover(api.load_connector(_connector(args, config)), config, sample=args.sample,
                           on_config=lambda cfg, paths: writer.write(save(cfg, paths)))
    writer.write([catalog])
    return 0


def _state_arg(args: argparse.Namespace, airbyte: bool) -> Any:
    """The incoming state; ``args.state_version`` is the state file's version when one was read."""
    from source_solidafy.state import load_state_versioned, parse_state_text

    if args.state_json:
        return parse_state_text(args.state_json, "--state-json")
    if args.state:
        state, args.state_version = load_state_versioned(args.state, required=airbyte)
        return state
    return None


def _cursor_fields(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        stream, sep, column = item.partition("=")
        if not sep or not stream or not column:
            raise UsageError(f"--cursor-field expects STREAM=COLUMN, got '{item}'")
        out[stream] = column
    return out


def cmd_read(args: argparse.Namespace, airbyte: bool) -> int:
    config = _config(args)
    if args.plan:
        from source_solidafy.scale.cli import cmd_read_plan

        return cmd_read_plan(args, config, _connector(args, config))
    # Start-up (importing the engine, building the manifest models) makes ~70k objects that live until
    # exit: no collection runs while they are made (-6% of start-up CPU), and once made they are frozen,
    # so full collections while records stream never re-scan them (~20% of a REST read's CPU).
    gc.disable()
    if args.own_process:  # this process's one command: a cache hit's models need no pydantic (manifest/light.py)
        from source_solidafy.manifest import light

        light.ALLOWED = True
    try:
        run = _prepare_read(args, airbyte, config)
    finally:
        gc.freeze()
        gc.enable()
    writer = _writer(pretty=args.format == "pretty")
    if args.verbose:
        _say_cache(writer)
    from source_solidafy.progress import Progress

    progress = Progress.for_stderr(enabled=not airbyte)
    run.on_config = config_saver(args, airbyte)
    progress.watch(run)
    run.write_now = writer.write  # an Airbyte heartbeat while the read waits (runner.SyncRun.write_now)
    for chunk in run:
        writer.write(chunk)
    progress.close(run)
    return 1 if run.failed else 0


def _say_cache(writer: Any) -> None:
    """``--verbose``: a DEBUG line on how the connector file was loaded (manifest/cache.py)."""
    cache = sys.modules.get("source_solidafy.manifest.cache")
    line = cache.status_line() if cache is not None else None
    if line is not None:
        writer.write([p.log("DEBUG", line)])


def _prepare_read(args: argparse.Namespace, airbyte: bool, config: dict[str, Any]) -> Any:
    """The read's ``SyncRun``: connector, config, state, catalog and output checked before any output."""
    from source_solidafy import api

    catalog = _json_file(args.catalog, "catalog") if args.catalog else None
    if airbyte and catalog is None:
        raise UsageError("read: --catalog FILE is required (the Airbyte configured catalog)")
    return api.prepare_sync(
        api.load_connector(_connector(args, config)),
        config,
        streams=[s.strip() for s in args.streams.split(",") if s.strip()] or None,
        state=_state_arg(args, airbyte),
        format=args.format,
        output=args.output,
        max_records=args.max_records,
        cursor_fields=_cursor_fields(args.cursor_field),
        concurrency=args.concurrency,
        state_per_page=args.state_per_page,
        catalog=catalog,
        flavour=p.AIRBYTE if airbyte else p.SOLIDAFY,
        compression=args.compression,
        state_file=None if airbyte else args.state,
        state_version=getattr(args, "state_version", api.VERSION_NOW),
        verbose=args.verbose,
        raw_records=True,
        strict=args.strict,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from source_solidafy.errors import ManifestError
    from source_solidafy.manifest.cache import load_connector_file
    from source_solidafy.manifest.summary import summarize

    try:  # an Airbyte declarative manifest is detected by its shape (docs/airbyte-manifests.md)
        loaded = load_connector_file(args.file)
        manifest: Any = getattr(loaded, "manifest", loaded)  # an Airbyte manifest's source holds its Manifest
    except ManifestError as exc:
        if args.format == "json":
            _writer().write([{"type": "VALIDATION", "valid": False, "file": args.file, "errors": exc.problems}])
        else:
            sys.stderr.write("\n".join(exc.problems) + "\n")
        return 2
    if args.format == "json":
        _writer().write([{"type": "VALIDATION", "valid": True, "file": args.file, "name": manifest.name,
                          "streams": [s.name for s in manifest.streams]}])
    else:
        sys.stdout.write(summarize(manifest) + "\n")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from source_solidafy.scale.cli import cmd_plan as plan

    config = _config(args)
    return plan(args, config, _connector(args, config), _state_arg(args, airbyte=False))


def cmd_state(args: argparse.Namespace) -> int:
    from source_solidafy.scale.cli import cmd_state as state

    return state(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from source_solidafy.demo import run_demo

    return run_demo(args.output, args.format)


# -- entry point -------------------------------------------------------------------------------------


def _is_airbyte(argv: list[str]) -> bool:
    prog = Path(sys.argv[0]).name
    return prog.startswith("source-solidafy") or "--catalog" in argv or os.environ.get("SOLIDAFY_FLAVOUR") == "airbyte"


def run(argv: list[str], airbyte: bool, own_process: bool = False) -> int:
    """One command; ``own_process``: the process's own command line (the console script), not a caller's list."""
    if argv[:1] == ["serve"]:
        from source_solidafy.server import serve_main

        return serve_main(argv[1:])
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    args.airbyte, args.own_process = airbyte, own_process
    if args.command is None:
        build_parser().print_help()
        return 2
    if args.command == "read":
        return cmd_read(args, airbyte)
    handler = globals()[f"cmd_{args.command}"]
    return handler(args)


def flag_subject(option: str, value: object) -> str:
    """How the command line names a sync option in a message: ``--output s3a://b/p``."""
    flag = "--" + option.replace("_", "-")
    return flag if value is None else f"{flag} {value}"


def _report(exc: BaseException, airbyte: bool, verbose: bool) -> int:
    if isinstance(exc, SolidafyError):
        message, failure_type, code = exc.worded(flag_subject), exc.failure_type, exc.exit_code
    else:
        message, failure_type, code = f"internal error: {type(exc).__name__}: {exc}", "system_error", 1
    if airbyte:
        with contextlib.suppress(BrokenPipeError, ValueError):
            _writer().write([p.trace_error(message, failure_type)])
    sys.stderr.write(f"error: {message}\n")
    if verbose and not isinstance(exc, SolidafyError):
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """The CLI; without ``argv``, this process's command line (as ``solidafy-cdk`` and ``python -m`` call it)."""
    own_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    airbyte = _is_airbyte(argv)
    try:
        return run(argv, airbyte, own_process)
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear message
        return _report(exc, airbyte, "-v" in argv or "--verbose" in argv)


if __name__ == "__main__":
    sys.exit(main())
