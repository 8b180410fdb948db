"""A manifest's config form: the explicit ``spec:`` list, or one derived from the templates.

Derivation (docs/connector-yaml.md, ``spec``): every config key a template reads becomes a string field, required
when some strict template reads it (``base_url``, paths, ``auth``, headers, bodies, transforms,
date_range bounds: rendering fails without it), optional when only lenient templates do (request,
check and job params, ``incremental.start``: they render empty and the value is left out); secret
when its name contains key, token, secret or password. ``base_url`` (and ``token_url`` for OAuth2) are
always offered as optional overrides. With auth alternatives (``auth:`` a list, see auth_choice.py)
every key an alternative reads, and every ``when`` key, is optional in the form; the config check
then requires the keys of the alternative the config selects, and only those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from source_solidafy.config import preferred_auth_type, with_overrides
from source_solidafy.manifest.auth_choice import (
    alternatives,
    auth_types,
    choices,
    either_or_message,
    has_alternatives,
    keys_of,
    present,
    selected_index,
)
from source_solidafy.manifest.templates import config_keys_used
from source_solidafy.manifest.walk import format_path, iter_templates
from source_solidafy.secret_names import is_secret_name
from source_solidafy.source import ConfigField

if TYPE_CHECKING:
    from source_solidafy.manifest.models import Manifest



class Usage(NamedTuple):
    """Where a template reads a config key: ``auth.token`` at ``stripe.yaml:7``."""

    key_path: str
    location: str
    required: bool
    alternative: int | None = None  # index in a list of auth alternatives


def config_usages(manifest: Manifest) -> dict[str, list[Usage]]:
    """Config key -> every place a template reads it, in file order.

    Found once per manifest (every sync's config check asks, and a loaded manifest is shared by
    the syncs of a process: registry.py); callers only read it.
    """
    if manifest._usages is None:
        manifest._usages = _find_usages(manifest)
    return manifest._usages


def _find_usages(manifest: Manifest) -> dict[str, list[Usage]]:
    usages: dict[str, list[Usage]] = {}
    for path, template in iter_templates(manifest):
        keys = config_keys_used(template)
        if not keys:
            continue
        location = template.where.split(": ", 1)[0] if template.where else manifest.source_name
        alt = path[1] if len(path) > 1 and path[0] == "auth" and isinstance(path[1], int) else None
        usage = Usage(format_path(path), location, required=not template.lenient, alternative=alt)
        for key in sorted(keys):
            usages.setdefault(key, []).append(usage)
    return usages


def _derived(manifest: Manifest) -> list[ConfigField]:
    fields = []
    usages = config_usages(manifest)
    for key, uses in usages.items():
        required = any(u.required and u.alternative is None for u in uses)
        first = next((u for u in uses if u.required), uses[0])
        fields.append(
            ConfigField(
                name=key,
                required=required,
                secret=is_secret_name(key) or any(u.key_path.endswith(".salt") for u in uses),  # hash salt
                description=f"Used by {first.key_path}",
            )
        )
    if has_alternatives(manifest):
        for i, (when, _) in enumerate(choices(manifest)):
            if when and when not in usages and when not in {f.name for f in fields}:
                fields.append(ConfigField(name=when, secret=is_secret_name(when), description=f"Selects auth[{i}]"))
    return fields


def config_fields(manifest: Manifest) -> list[ConfigField]:
    """Explicit ``spec`` wins; then the optional overrides nobody declared."""
    explicit = manifest.spec
    fields = [f.to_config_field() for f in explicit] if explicit is not None else _derived(manifest)
    return with_overrides(fields, preferred_auth_type(auth_types(manifest)))


def _absent(config: dict[str, Any], name: str) -> bool:
    return not present(config, name)


def _overridden(usage: Usage, config: dict[str, Any]) -> bool:
    """A config ``base_url`` / ``token_url`` replaces the template that would read this key."""
    if usage.key_path == "base_url":
        return present(config, "base_url")
    return usage.key_path.startswith("auth") and usage.key_path.endswith(".token_url") and present(config, "token_url")


def _message(manifest: Manifest, name: str, uses: list[Usage]) -> str:
    first = next((u for u in uses if u.required), uses[0] if uses else None)
    where = f" (used by {first.key_path} at {first.location})" if first else ""
    return f"{manifest.name}: config field '{name}' is required{where}"


def missing_config(manifest: Manifest, config: dict[str, Any]) -> list[str]:
    """``stripe: config field 'api_key' is required (used by auth.token at stripe.yaml:7)``."""
    chosen = selected_index(manifest, config)  # None: no alternative fits; say so, then the rest
    usages = config_usages(manifest)
    problems = [either_or_message(manifest)] if chosen is None else []
    reported: set[str] = set()
    for f in config_fields(manifest):
        if not f.required or not _absent(config, f.name):
            continue
        uses = usages.get(f.name, [])
        if uses and all(u.alternative not in (None, chosen) for u in uses):
            continue  # read only by auth alternatives this config does not select
        if uses and manifest.spec is None:
            uses = [u for u in uses if not _overridden(u, config)]
            if not any(u.required for u in uses):
                continue  # only needed where an override replaces it (config base_url / token_url)
        problems.append(_message(manifest, f.name, uses))
        reported.add(f.name)
    if has_alternatives(manifest) and chosen is not None:
        alt = alternatives(manifest)[chosen]
        for key in keys_of(alt, skip_token_url=present(config, "token_url")):
            if key not in reported and _absent(config, key):
                uses = [u for u in usages.get(key, []) if u.alternative == chosen]
                problems.append(_message(manifest, key, uses))
    return problems
