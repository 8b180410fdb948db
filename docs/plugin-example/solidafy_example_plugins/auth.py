"""``auth: {type: "plugin:signed_key", key_id: k1, secret: "{{ config.api_secret }}"}``

Sends ``X-Key-Id`` and ``X-Signature: hex(HMAC-SHA256(secret, key_id + " " + path))`` on every request.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict

from source_solidafy.plugins import PluginContext


class SignedKey:
    kind = "auth"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        key_id: str
        secret: str  # a template: rendered against the config
        path: str = "/"  # what is signed (the API documents it per key)

    def __init__(self, options: Options, context: PluginContext) -> None:
        self.key_id, self.secret = options.key_id, context.render(options.secret)
        message = f"{self.key_id} {options.path}".encode()
        self.signature = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def apply(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        headers["X-Key-Id"] = self.key_id
        headers["X-Signature"] = self.signature

    def secrets(self) -> list[str]:
        return [self.secret, self.signature]
