"""The acceptance rules as plain functions returning a list of problems (empty = passes).

They mirror what Airbyte's connector-acceptance-test checks (spec, discovery, read, state) so the
offline suite checks at least as much without Docker. Each returns human-readable problems so a
failing test says exactly which field or stream broke the rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

FORBIDDEN_SPEC_KEYS = {"anyOf", "allOf", "not", "patternProperties", "if", "then", "else"}
SECRET_HINTS = ("key", "token", "secret", "password")


def walk(schema: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema (dicts) with its JSON path, depth first."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        out.append((path, schema))
        for key, value in schema.items():
            out += walk(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            out += walk(value, f"{path}[{i}]")
    return out


def spec_problems(spec: dict[str, Any]) -> list[str]:
    """Draft-7 validity, forbidden keywords, secrets marked, additionalProperties true."""
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    problems: list[str] = []
    conn = spec.get("connectionSpecification")
    if not isinstance(conn, dict):
        return ["spec has no connectionSpecification object"]
    if not spec.get("protocol_version"):
        problems.append("spec.protocol_version is not set")
    try:
        Draft7Validator.check_schema(conn)
    except SchemaError as exc:
        problems.append(f"connectionSpecification is not valid draft 7: {exc.message}")
    for path, sub in walk(conn):
        for key in FORBIDDEN_SPEC_KEYS & set(sub):
            if not path.endswith(".properties"):
                problems.append(f"{path} uses forbidden keyword {key!r}")
        if "additionalProperties" in sub and sub["additionalProperties"] is not True and not path.endswith(
            ".properties"
        ):
            problems.append(f"{path}.additionalProperties is {sub['additionalProperties']!r}, must be true")
        if path.endswith(".properties"):
            for name, prop in sub.items():
                looks_secret = any(h in name.lower() for h in SECRET_HINTS) and "url" not in name.lower()
                if looks_secret and isinstance(prop, dict) and not prop.get("airbyte_secret"):
                    problems.append(f"{path}.{name} looks secret but has no airbyte_secret: true")
    return problems


def secret_fields(spec: dict[str, Any]) -> set[str]:
    """Names of every property marked airbyte_secret anywhere in the spec (oneOf branches too)."""
    names: set[str] = set()
    for path, sub in walk(spec.get("connectionSpecification", {})):
        if path.endswith(".properties"):
            names |= {n for n, p in sub.items() if isinstance(p, dict) and p.get("airbyte_secret")}
    return names


def _has_path(schema: dict[str, Any], path: list[str]) -> bool:
    node: Any = schema
    for part in path:
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or part not in props:
            return False
        node = props[part]
    return True


def catalog_problems(catalog: dict[str, Any]) -> list[str]:
    """Unique non-empty names, sync modes, draft-7 schemas without $ref, cursor/key paths exist."""
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    problems: list[str] = []
    streams = catalog.get("streams") or []
    if not streams:
        return ["catalog has no streams"]
    names = [s.get("name") for s in streams]
    if len(set(names)) != len(names) or not all(names):
        problems.append(f"stream names are not unique and non-empty: {names}")
    for s in streams:
        name, schema = s.get("name"), s.get("json_schema") or {}
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"{name}: json_schema is not valid draft 7: {exc.message}")
        problems += [f"{name}: {p} uses $ref" for p, sub in walk(schema) if "$ref" in sub]
        modes = s.get("supported_sync_modes") or []
        if not modes or not set(modes) <= {"full_refresh", "incremental"}:
            problems.append(f"{name}: supported_sync_modes {modes!r}")
        if "incremental" in modes:
            cursor = s.get("default_cursor_field")
            if not s.get("source_defined_cursor") or not cursor:
                problems.append(f"{name}: incremental without source_defined_cursor + default_cursor_field")
            elif not _has_path(schema, cursor):
                problems.append(f"{name}: cursor {cursor} is not in the schema")
        for key in s.get("source_defined_primary_key") or []:
            if not isinstance(key, list) or not _has_path(schema, key):
                problems.append(f"{name}: primary key {key!r} is not a path in the schema")
    return problems


def record_problems(streams: dict[str, dict[str, Any]], records: list[dict[str, Any]]) -> list[str]:
    """Each record's data validates against its stream's discovered json_schema (first 5 per stream)."""
    from jsonschema import Draft7Validator

    validators = {n: Draft7Validator(s.get("json_schema") or {}) for n, s in streams.items()}
    problems: list[str] = []
    for rec in records:
        validator = validators.get(rec["stream"])
        if validator is None:
            problems.append(f"record for stream {rec['stream']!r} that discover did not list")
            continue
        for err in list(validator.iter_errors(rec["data"]))[:1]:
            problems.append(f"{rec['stream']}: {'.'.join(map(str, err.path)) or '$'}: {err.message}")
    return problems[:20]


def as_comparable(value: Any) -> Any:
    """Cursor values of different shapes compared sensibly: numbers, ISO dates, else strings."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if parsed.tzinfo is None:
        from datetime import timezone

        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def record_cursor(data: dict[str, Any], cursor_path: list[str]) -> Any:
    node: Any = data
    for part in cursor_path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def state_cursors(stream_state: dict[str, Any], cursor_path: list[str]) -> list[Any]:
    """The saved cursor values in a stream state: ``cursor``, the cursor field, or per partition."""
    found: list[Any] = []
    names = {"cursor", cursor_path[-1] if cursor_path else "cursor"}
    for name in names:
        if stream_state.get(name) is not None:
            found.append(stream_state[name])
    for part in stream_state.get("partitions") or []:
        if isinstance(part, dict):
            found += state_cursors({k: v for k, v in part.items() if k != "partition"}, cursor_path)
    return found


def future_value(value: Any) -> Any:
    """A cursor value of the same shape as ``value`` but far in the future (year 2100)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return 4_102_444_800_000 if value > 10**11 else 4_102_444_800
    if isinstance(value, float):
        return 4_102_444_800.0
    text = str(value)
    if len(text) == 10 and text[4] == "-":
        return "2100-01-01"
    if text.isdigit():
        return str(4_102_444_800_000 if len(text) > 11 else 4_102_444_800)
    return "2100-01-01T00:00:00Z" if text.endswith("Z") else "2100-01-01T00:00:00+00:00"


def futurize(stream_state: dict[str, Any], cursor_path: list[str]) -> dict[str, Any]:
    """``stream_state`` with every cursor value moved to the far future."""
    out = dict(stream_state)
    names = {"cursor", cursor_path[-1] if cursor_path else "cursor"}
    for name in names & set(out):
        if out[name] is not None:
            out[name] = future_value(out[name])
    if isinstance(out.get("partitions"), list):
        out["partitions"] = [
            futurize(p, cursor_path) if isinstance(p, dict) else p for p in out["partitions"]
        ]
    return out
