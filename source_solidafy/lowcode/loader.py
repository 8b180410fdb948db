"""Load an Airbyte declarative manifest (``type: DeclarativeSource``) as one of our connectors.

Detection is by shape (:func:`looks_like_airbyte`). Loading resolves ``$ref`` / ``#/...`` /
``$parameters`` as airbyte-cdk does (resolve.py), checks every component (components.py) and translates
the streams (translate.py); every unsupported part is reported at once, one line each::

    manifest.yaml:48: definitions.streams.users.retriever.paginator.pagination_strategy:
        CustomPaginationStrategy is not supported (needs Python)

The config form is ``spec.connection_specification``, or ``spec.yaml`` / ``spec.json`` beside the
manifest (``connectionSpecification``), as Airbyte's packages lay them out; ``JsonFileSchemaLoader``
schemas are read from ``schemas/<file>.json`` beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from source_solidafy.errors import ManifestError
from source_solidafy.lowcode.auth import AirbyteManifest
from source_solidafy.lowcode.components import shape_problem
from source_solidafy.lowcode.error_handlers import DEFAULT_HTTP
from source_solidafy.lowcode.resolve import resolve
from source_solidafy.lowcode.shape import (
    SIDECARS,
    looks_like_airbyte,
    looks_like_airbyte_file,
    looks_like_airbyte_text,
    parsed,
    sidecar_spec,
)
from source_solidafy.lowcode.translate import RETRY_STATUSES, Translator
from source_solidafy.manifest.models import Manifest
from source_solidafy.manifest.pyd import ValidationError
from source_solidafy.manifest.safe_regex import regex_problem


def load_airbyte_manifest(path: str | Path, *, allow_files: bool = True) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc}") from None
    return load_airbyte_text(text, p.name, p.parent if allow_files else None)


def load_airbyte_text(text: str, source_name: str = "manifest.yaml", base_dir: Path | None = None) -> Any:
    """An :class:`AirbyteManifestSource`; ManifestError listing every unsupported part."""
    from source_solidafy.lowcode.source import AirbyteManifestSource
    from source_solidafy.manifest.problems import where_of  # these import yaml: a cached read loads no text
    from source_solidafy.manifest.yaml_lines import YamlSyntaxError

    try:
        raw = parsed(text)
    except YamlSyntaxError as exc:
        raise ManifestError(f"{source_name}:{exc.line or 1}: {exc.problem}") from None
    if not looks_like_airbyte(raw):
        raise ManifestError(f"{source_name}:1: not an Airbyte declarative manifest (expected type: DeclarativeSource)")
    resolved = resolve(raw, source_name)
    tr = Translator(resolved, lambda loc: where_of(source_name, raw, loc)[1])
    tr.base_dir, tr.allow_files = base_dir, base_dir is not None
    streams = tr.streams()
    spec = resolved.tree.get("spec") or sidecar_spec(base_dir)
    if not isinstance(spec, dict) or not isinstance(spec.get("connection_specification"), dict):
        tr.problems.append((("spec",), "no spec: give spec.connection_specification, or spec.yaml beside the manifest"))
    else:
        _spec_patterns(spec["connection_specification"], tr)
    _check_shape(resolved.tree.get("check"), tr)
    if not tr.problems and not streams:
        tr.problems.append((("streams",), "no streams"))
    _one_auth(streams, tr)
    _raise(tr.problems, source_name, raw)
    assert isinstance(spec, dict)  # else a problem was raised above
    manifest = _manifest(streams, source_name, tr)
    check = resolved.tree.get("check") or {}
    names = [str(n) for n in check.get("stream_names") or []] if isinstance(check, dict) else []
    files = [base_dir / name for name in SIDECARS] if base_dir is not None else []
    return AirbyteManifestSource(manifest, spec, names, tr.table, [*files, *tr.files_read])


def _check_shape(check: Any, tr: Translator) -> None:
    """A CheckStream's stream_names is a list (the check reads them after the load)."""
    wrong = shape_problem("CheckStream", check) if isinstance(check, dict) else None
    if wrong is not None:
        tr.problems.append((("check", wrong[0]), wrong[1]))


def _spec_patterns(form: dict[str, Any], tr: Translator) -> None:
    """Each top-level property's ``pattern`` is matched against config values (source.py): one regex
    rule for every regex a connector file gives (safe_regex.py), checked here with its place."""
    properties = form.get("properties") or {}
    if not isinstance(properties, dict):
        tr.problems.append((("spec", "connection_specification", "properties"),
                            f"expected a mapping, got {type(properties).__name__}"))
        return
    for name, prop in properties.items():
        pattern = prop.get("pattern") if isinstance(prop, dict) else None
        if pattern is None:
            continue
        where = ("spec", "connection_specification", "properties", name, "pattern")
        problem = regex_problem(pattern) if isinstance(pattern, str) else "expected a string (a regex)"
        if problem is not None:
            tr.problems.append((where, problem))


def _one_auth(streams: list[dict[str, Any]], tr: Translator) -> None:
    """Our engine has one auth per connector: every requester must authenticate the same way."""
    if not streams:
        return
    first = streams[0]["_auth"][2]
    for s in [*streams[1:], *tr.hidden]:
        _, where, auth = s["_auth"]
        if auth != first:
            tr.problems.append((where, "a different authenticator per stream is not supported yet"))
            return


def _raise(problems: list[tuple[Any, str]], source_name: str, raw: Any) -> None:
    if not problems:
        return
    from source_solidafy.manifest.problems import where_of

    lines = []
    for loc, message in problems:
        line, where = where_of(source_name, raw, tuple(loc))
        lines.append((line or 0, f"{where}: {message}"))
    lines.sort(key=lambda item: item[0])
    texts = list(dict.fromkeys(t for _, t in lines))
    more = f" (and {len(texts) - 1} more problem{'s' if len(texts) > 2 else ''})" if len(texts) > 1 else ""
    raise ManifestError(texts[0] + more, problems=texts)


def _manifest(streams: list[dict[str, Any]], source_name: str, tr: Translator) -> Manifest:
    """Our Manifest; the Airbyte parts (datetime slices, DefaultPaginator, parents) are registered models."""
    plain = [{k: v for k, v in s.items() if k not in ("_url_base", "_auth")} for s in [*streams, *tr.hidden]]
    first_base = streams[0]["_url_base"]
    data = {"name": Path(source_name).stem, "base_url": tr.table.template(first_base, first_base.where),
            "streams": plain, "auth": streams[0]["_auth"][0],
            "http": {**(tr.http_choice or DEFAULT_HTTP), "retry_statuses": sorted(RETRY_STATUSES),
                     "backoff_max_secs": 600.0}}
    try:
        manifest = Manifest.model_validate(data, context={"envs": None})
    except ValidationError as exc:
        raise ManifestError(f"{source_name}: cannot translate: {exc.errors()[0].get('msg')}") from None
    manifest = AirbyteManifest.of(manifest, tr.selection, len(tr.hidden))
    manifest._source_name = source_name
    return manifest


# The Airbyte paginator and the datetime and parent routers register with the factory (rest/factory.py).
from source_solidafy.lowcode import cursor as _cursor  # noqa: E402,F401  isort: skip
from source_solidafy.lowcode import paging as _paging  # noqa: E402,F401  isort: skip
from source_solidafy.lowcode import partition_cursor as _partition_cursor  # noqa: E402,F401  isort: skip
from source_solidafy.lowcode import parents as _parents  # noqa: E402,F401  isort: skip

__all__ = ["load_airbyte_manifest", "load_airbyte_text", "looks_like_airbyte", "looks_like_airbyte_file",
           "looks_like_airbyte_text"]
