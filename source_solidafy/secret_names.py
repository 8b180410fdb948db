"""Which names hold a secret: config fields, request headers and parameters, server request bodies.

One rule for every place that guesses from a name (the spec's ``secret`` flag when a field does not
set it, the server's redaction of a request's config, the HTTP client's redaction of header and
parameter values). A name is split into words (``x-api-key``, ``clientSecret``, ``APIKey`` and
``api_key2`` alike) and names a secret when

- its last word is a secret noun (:data:`SECRET_NOUNS`: ``key``, ``token``, ``secret``, ``password``,
  ``passwd``, ``pwd``, ``credentials``, ``dsn``, ``signature``, ``sig``, ``cookie``, ``authorization``,
  ``salt`` (a hash transform's key), ...), alone or run together with a qualifier (``apikey``, ``accesstoken``, ``privatekey``);
- or any word is ``session`` (``session_id``, ``X-Session-Id``, ``sessionid``);
- or it is a connection string (``connection_string``).

The last word decides because names are compounds whose last word says what the value is:
``api_key`` is a key, ``token_url`` a URL, ``tokenizer_model`` a model, ``auth_type`` a type, and
``monkey`` no key at all.
"""

from __future__ import annotations

import functools
import re

SECRET_NOUNS = frozenset({
    "key", "keys", "token", "tokens", "secret", "secrets", "password", "passwords", "passwd", "pwd",
    "credential", "credentials", "dsn", "signature", "sig", "cookie", "cookies", "auth", "authorization",
    "authentication", "salt", "salts", "pepper",
})
_SESSION = frozenset({"session", "sessionid"})
# words written together with a secret noun: apikey, accesstoken, clientsecret, privatekey ...
_QUALIFIERS = ("api", "access", "auth", "bearer", "client", "id", "private", "refresh", "secret", "session",
               "security", "app", "admin", "master", "user")
_COMPOUNDS = frozenset(q + noun for q in _QUALIFIERS for noun in SECRET_NOUNS)
_WHOLE_NAMES = frozenset({"connection_string", "connectionstring"})
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NOT_LETTERS = re.compile(r"[^a-z]+")


def name_words(name: str) -> list[str]:
    """``X-API-Key`` -> ``['x', 'api', 'key']``; ``clientSecret`` -> ``['client', 'secret']``."""
    return [w for w in _NOT_LETTERS.split(_CAMEL.sub(r"\1_\2", name).lower()) if w]


def is_secret_name(name: str) -> bool:
    """Whether a field, header or parameter called ``name`` holds a secret (see the module docstring)."""
    return _known(name) if len(name) <= 64 else _judge(name)  # the HTTP client asks for every parameter


@functools.lru_cache(maxsize=1024)
def _known(name: str) -> bool:
    return _judge(name)


def _judge(name: str) -> bool:
    words = name_words(name)
    if not words:
        return False
    last = words[-1]
    if last in SECRET_NOUNS or last in _COMPOUNDS or not _SESSION.isdisjoint(words):
        return True
    return "_".join(words) in _WHOLE_NAMES
