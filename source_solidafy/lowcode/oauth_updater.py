"""OAuthAuthenticator.refresh_token_updater with airbyte-cdk 7.39.1's semantics (its
SingleUseRefreshTokenOauth2Authenticator), on top of oauth.py's refresh request.

- The refresh token, the access token and its expiry are the config's, at ``refresh_token_config_path``,
  ``access_token_config_path`` and ``token_expiry_date_config_path`` (default ``credentials.*``); the
  client id and secret are the config's ``credentials.client_id`` / ``credentials.client_secret``
  when it has them, else the manifest's values.
- An access token whose expiry date (in the config) is still ahead is used as it is: no token request.
  An expiry the CDK cannot read fails the sync before any request, as in the CDK.
- After a refresh, the new access token, the refresh token found in the answer under the updater's
  ``refresh_token_name`` (the CDK's search, up to five levels; kept when the answer has none) and the
  expiry (ISO 8601, as the CDK writes it: the answer's, else the config's when still ahead, else an
  hour on) are written to those config paths: the sync hands back the updated config as for a rotated
  refresh token (docs/connector-yaml.md, "Rotating refresh tokens": CONTROL messages, ``--config
  FILE`` rewritten). The updater's ``refresh_token_name`` is also the refresh token's form field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from source_solidafy.config_updates import value_at
from source_solidafy.errors import AuthError, ConfigError
from source_solidafy.lowcode import oauth as lo
from source_solidafy.lowcode.oauth import TokenUpdater
from source_solidafy.manifest.templates import TemplateString
from source_solidafy.rest.auth_builders import AuthInputs
from source_solidafy.rest.oauth2 import TokenRequest

if TYPE_CHECKING:
    from source_solidafy.lowcode.translate_core import TranslatorCore

PATHS = {"access_token_config_path": ["credentials", "access_token"],
         "refresh_token_config_path": ["credentials", "refresh_token"],
         "token_expiry_date_config_path": ["credentials", "token_expiry_date"]}
Save = Callable[[list[str], str], None]


def path_template(path: list[str]) -> TemplateString:
    """``{{ config['a']['b'] }}``: the template a saved value's config key is read from (config_updates.py)."""
    return TemplateString("{{ config" + "".join(f"['{p}']" for p in path) + " }}")


class SingleUseGrant(lo.AirbyteOAuthGrant):
    def __init__(self, *args: Any, paths: TokenUpdater, save: Save | None, **options: Any) -> None:
        super().__init__(*args, **options)
        self._paths, self._save_to = paths, save
        self._config_expiry: dt.datetime | None = None
        self._new_refresh: str | None = None

    def seed(self, access: Any, expiry: dt.datetime | None) -> None:
        """The config's access token, used while its expiry is ahead."""
        self._config_expiry = expiry
        super().seed("" if access is None else access, expiry)

    def _fetch(self) -> dict[str, Any]:
        info = self._grant("", refresh_token=self._refresh_token)
        try:
            found = lo.find_value(info, self._names["refresh_token"])
        except lo._TooDeep:
            raise AuthError(f"token response from {self.token_url}: no {self._names['refresh_token']!r} within "
                            f"{lo.MAX_DEPTH} levels") from None
        self._new_refresh = None if found is None else str(found)
        if self._new_refresh is not None:
            self._refresh_token = self._new_refresh
            self._all_refresh_tokens.append(self._new_refresh)
        return info

    def _refreshed(self, moment: dt.datetime | None) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        if moment is None:
            known = self._config_expiry
            moment = known if known is not None and known > now else now + dt.timedelta(seconds=lo.DEFAULT_LIFETIME_SECS)
        self._config_expiry = moment
        if self._save_to is None:
            return
        assert self._token is not None
        self._save_to(self._paths.access_path, self._token)
        if self._new_refresh is not None:
            self._save_to(self._paths.refresh_path, self._new_refresh)
        self._save_to(self._paths.expiry_path, moment.isoformat())


def single_use(spec: lo.AirbyteOAuth, inputs: AuthInputs, head: dict[str, Any], tail: dict[str, Any],
               names: dict[str, str], headers: dict[str, str]) -> SingleUseGrant:
    paths = spec.airbyte.updater
    assert paths is not None
    config = inputs.config
    for name in ("client_id", "client_secret"):  # the CDK reads the config's credentials first
        given = value_at(config, ("credentials", name))
        if given is not None and names[name] in head:
            head[names[name]] = given
    expiry_text = value_at(config, tuple(paths.expiry_path))
    try:
        expiry = None if expiry_text in (None, "") else lo.expiry_moment(expiry_text)
    except ValueError:
        raise ConfigError(f"config {'.'.join(paths.expiry_path)}: {str(expiry_text)[:40]!r} is not a date the CDK "
                          "reads (it fails too)") from None
    refresh = value_at(config, tuple(paths.refresh_path))
    save = inputs.save
    grant = SingleUseGrant(inputs.token_url or inputs.render(spec.token_url), head, tail, names,
                           "" if refresh is None else str(refresh), spec.airbyte.expiry_is_date,
                           spec.airbyte.as_query, spec.airbyte.errors, paths=paths, save=(lambda p, v: save(path_template(p), v)) if save is not None else None,
                           session=inputs.session, request=TokenRequest(headers=headers))
    grant.seed(value_at(config, tuple(paths.access_path)), expiry)
    return grant


def updater(t: TranslatorCore, node: dict[str, Any]) -> tuple[TokenUpdater, str] | None:
    """refresh_token_updater -> (its config paths, its refresh_token_name); None without one."""
    spec = node.get("refresh_token_updater")
    if spec is None:
        return None
    at = t.path(node, "refresh_token_updater")
    if not isinstance(spec, dict):
        raise t.fail(at, "refresh_token_updater: expected a mapping")
    paths = {}
    for key, default in PATHS.items():
        path = spec.get(key) or default
        if not isinstance(path, list) or not path or not all(isinstance(p, str) and p and "'" not in p
                                                              and "\\" not in p for p in path):
            raise t.fail((*at, key), f"RefreshTokenUpdater.{key}: expected a list of plain config keys")
        paths[key] = [str(p) for p in path]
    name = spec.get("refresh_token_name") or "refresh_token"
    if not isinstance(name, str) or "{" in name:
        raise t.fail((*at, "refresh_token_name"), "RefreshTokenUpdater.refresh_token_name: expected plain text")
    return TokenUpdater(access_path=paths["access_token_config_path"], refresh_path=paths["refresh_token_config_path"],
                        expiry_path=paths["token_expiry_date_config_path"]), name
