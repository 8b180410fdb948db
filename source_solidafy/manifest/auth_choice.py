"""Pick one of a manifest's auth alternatives for a config, and say clearly when none fits.

Why a list: HubSpot takes a private app token or OAuth credentials, Zendesk an API token or an
OAuth bearer token. ``auth`` may therefore be a list of ordinary auth blocks, each with
``when: <config key>``; the first whose key is present and non-empty in the config is used, and one
alternative may leave ``when`` out (the default, last). A single block is a list of one default.
Everything about choosing lives here: the choice, its load-time rules, its messages; the config form's
``token_url`` follows :func:`source_solidafy.config.preferred_auth_type` of :func:`auth_types`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from source_solidafy.errors import ConfigError
from source_solidafy.manifest.templates import config_keys_used
from source_solidafy.manifest.walk import KeyPath, iter_templates

if TYPE_CHECKING:
    from source_solidafy.manifest.auth_models import AuthBlock
    from source_solidafy.manifest.models import Manifest


def has_alternatives(manifest: Manifest) -> bool:
    """True when ``auth`` is a list of alternatives."""
    return isinstance(manifest.auth, list)


def choices(manifest: Manifest) -> list[tuple[str | None, AuthBlock]]:
    """Every auth block the manifest may use with the config key that selects it (None: the default)."""
    if isinstance(manifest.auth, list):
        return [(alt.when, cast("AuthBlock", alt)) for alt in manifest.auth]
    return [(None, manifest.auth)]


def alternatives(manifest: Manifest) -> list[AuthBlock]:
    """Every auth block the manifest may use, in file order."""
    return [block for _, block in choices(manifest)]


def auth_types(manifest: Manifest) -> list[str]:
    """The ``type`` of every auth block, in file order."""
    return [block.type for block in alternatives(manifest)]


def present(config: dict[str, Any], key: str) -> bool:
    """``when`` semantics: the key is given and is not null or an empty string."""
    value = config.get(key)
    return value is not None and value != ""


def selected_index(manifest: Manifest, config: dict[str, Any]) -> int | None:
    """Index of the alternative ``config`` selects; None when none matches and there is no default."""
    for i, (when, _) in enumerate(choices(manifest)):
        if when is None or present(config, when):
            return i
    return None


def check_alternatives(manifest: Manifest, add: Callable[[KeyPath, str], None]) -> None:
    """Load-time rules: one default (no ``when``), last; no ``when`` key twice (the second is never chosen)."""
    if not has_alternatives(manifest):
        return
    listed = choices(manifest)
    seen: dict[str, int] = {}
    for i, (when, _) in enumerate(listed):
        if when is None:
            if i != len(listed) - 1:
                add(("auth", i), "an alternative without 'when' is the default and must come last")
        elif not when.strip() or any(c in when for c in "{} "):
            add(("auth", i, "when"), f"expected a config key name, got {when!r}")
        elif when in seen:
            add(("auth", i, "when"), f"'{when}' already selects auth[{seen[when]}]: this one is never used")
        else:
            seen[when] = i


def keys_of(alt: AuthBlock, skip_token_url: bool = False) -> list[str]:
    """Config keys the alternative's templates need, in file order (``token_url`` left out if overridden)."""
    keys: list[str] = []
    for path, template in iter_templates(alt):
        if template.lenient or (skip_token_url and path == ("token_url",)):
            continue
        keys.extend(k for k in sorted(config_keys_used(template)) if k not in keys)
    return keys


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def either_or_message(manifest: Manifest) -> str:
    """``hubspot: give either 'access_token' or 'refresh_token' (with client_id and client_secret)``."""
    options = []
    for when, alt in choices(manifest):
        if when is None:
            continue
        others = [k for k in keys_of(alt) if k != when]
        options.append(f"'{when}'" + (f" (with {_join(others)})" if others else ""))
    if len(options) == 1:
        return f"{manifest.name}: give {options[0]}"
    lead = "either" if len(options) == 2 else "one of"
    return f"{manifest.name}: give {lead} {', '.join(options[:-1])} or {options[-1]}"


def choose_auth(manifest: Manifest, config: dict[str, Any]) -> AuthBlock:
    """The auth block for ``config``; ConfigError naming the alternatives when none matches."""
    index = selected_index(manifest, config)
    if index is None:
        raise ConfigError(either_or_message(manifest))
    return alternatives(manifest)[index]


def describe_auth(manifest: Manifest) -> str:
    """``bearer`` or ``bearer (when access_token) | oauth2_refresh_token (when refresh_token)``."""
    if not has_alternatives(manifest):
        return alternatives(manifest)[0].type
    parts = []
    for when, alt in choices(manifest):
        parts.append(f"{alt.type} (when {when})" if when else f"{alt.type} (default)")
    return " | ".join(parts)
