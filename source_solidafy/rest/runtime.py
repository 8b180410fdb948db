"""One connector's runtime for one config: its HTTP client with auth, and the connector-level values.

Every stream and partition of a config shares it, so every request goes through the same session,
retry policy and rate limiter. ``base_url`` is rendered once, on first use (a template may read the
token response: Salesforce's ``{{ auth.instance_url }}``); a config ``base_url`` wins.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from source_solidafy.config_updates import ConfigChanges, config_path
from source_solidafy.manifest.models import Manifest
from source_solidafy.manifest.templates import TemplateString, build_context
from source_solidafy.rest import builders
from source_solidafy.rest.lookups import LookupCache
from source_solidafy.source import LogFn

if TYPE_CHECKING:
    from source_solidafy.confinement import ConnectGuard


class ConnectorRuntime:
    """HTTP client, auth and rendered connector-level values for one config."""

    def __init__(self, manifest: Manifest, config: dict[str, Any], secrets: list[str],
                 guard: ConnectGuard | None = None, rate_limit_rps: float | None = None) -> None:
        self.manifest = manifest
        self.config = config
        self._local = threading.local()
        self.client = builders.http_client(manifest.http, builders.HttpInputs(secrets, self._log, guard, rate_limit_rps))
        self.changes = ConfigChanges(config)  # what the auth changed in the config (a rotated refresh token)
        self.client.auth = builders.auth(manifest.auth_for(config),
                                         builders.AuthInputs.of(config, self.client.session, self._save))
        ctx = build_context(config)
        self.headers = {k: v.render(ctx) for k, v in manifest.headers.items()}
        self._base_lock = threading.Lock()
        self._base_url: str | None = None
        self.lookups = LookupCache()  # the records of each ``lookups`` entry, read once for this config

    def set_log(self, log: LogFn) -> None:
        """Where this thread's client messages (retries, refreshes) go."""
        self._local.log = log

    def _log(self, level: str, message: str) -> None:
        log = getattr(self._local, "log", None)
        if log is not None:
            log(level, message)

    def _save(self, template: TemplateString, value: str) -> None:
        """The auth changed the value ``template`` reads: kept in :attr:`changes` when it is one config key."""
        path = config_path(template.source)
        if path is None:
            self._log("WARN", f"the token endpoint sent a new value for '{template.source}', which is not a plain "
                              "'{{ config.KEY }}': it cannot be saved, and the next sync may be refused")
            return
        self.changes.update(path, value)

    def auth_info(self) -> dict[str, Any]:
        """The token response of a token auth (``auth.*`` in templates), else {}."""
        info = getattr(self.client.auth, "token_info", None)
        return info if isinstance(info, dict) else {}

    def base_url(self) -> str:
        """Config ``base_url`` wins; a template may use ``auth.*`` (Salesforce's instance_url)."""
        with self._base_lock:
            if self._base_url is None:
                override = self.config.get("base_url")
                if override:
                    url = str(override)
                else:
                    needs_auth = "auth" in self.manifest.base_url.source
                    url = self.manifest.base_url.render(
                        build_context(self.config, auth=self.auth_info() if needs_auth else None)
                    )
                self._base_url = url.rstrip("/")
                self.client.base_url = self._base_url
            return self._base_url
