"""The session login of the mocks' ``Credentials`` (kind ``session``): where a login may carry its
credentials, as real APIs take them, and what the mock then asks of it.

Values (beside ``username`` and ``password``):

- ``login_method``: the login's method (default POST; a GET carries the credentials in the query);
- ``login_in``: where ``username`` and ``password`` are: ``json`` (default), ``form`` or ``query``;
- ``login_headers``: headers the login must have (an app id);
- ``login_basic``: ``{username, password}`` the login must send as HTTP Basic (the app's own client);
- ``answer_path``: where the answer puts the token (default ``[data, session, token]``);
- ``answer_format``: ``xml`` answers ``<a><b>token</b></a>`` for that path (with an attribute on the root), else JSON.

Anything else gets a 401 (a wrong method a 405). The token is then accepted in the header
``header_name`` after ``header_prefix``, or with ``token_param`` in that query parameter.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from integration_tests.mocks.server import Request, Response

UNAUTHORIZED = {"error": {"type": "unauthorized", "message": "invalid credentials"}}


def _credentials(req: Request, where: str) -> tuple[Any, Any]:
    if where == "query":
        return req.arg("username"), req.arg("password")
    if where == "form":
        form = req.form()
        return form.get("username"), form.get("password")
    try:
        body = req.json()
    except ValueError:
        body = None
    return (body.get("username"), body.get("password")) if isinstance(body, dict) else (None, None)


def _basic(req: Request, client: dict[str, str] | None) -> bool:
    if client is None:
        return True
    pair = f"{client['username']}:{client['password']}".encode()
    return req.header("Authorization") == f"Basic {base64.b64encode(pair).decode()}"


def login_answer(values: dict[str, Any], req: Request, issue: Callable[[], str]) -> Response:
    """A new token at ``answer_path`` for a login with these credentials where they are expected."""
    if req.method != values.get("login_method", "POST"):
        return Response.json({"error": f"{req.method} not allowed"}, 405)
    user, password = _credentials(req, values.get("login_in", "json"))
    good = (user, password) == (values.get("username"), values.get("password")) and _basic(req, values.get("login_basic"))
    if not good or any(req.header(k) != v for k, v in (values.get("login_headers") or {}).items()):
        return Response.json(UNAUTHORIZED, 401)
    path, token = values.get("answer_path") or ["data", "session", "token"], issue()
    if values.get("answer_format") == "xml":
        inner = token
        for key in reversed(path[1:]):
            inner = f"<{key}>{inner}</{key}>"
        text = f'<?xml version="1.0" encoding="utf-8"?>\n<{path[0]} status="ok">{inner}</{path[0]}>'
        return Response(body=text, headers={"Content-Type": "application/xml; charset=utf-8"})
    answer: Any = token
    for key in reversed(path):
        answer = {key: answer}
    return Response.json(answer)


def sent_token(values: dict[str, Any], req: Request) -> str:
    """The session token a request carries (the prefix taken off), or ``""``."""
    if values.get("token_param"):
        sent = req.arg(values["token_param"]) or ""
    else:
        sent = req.header(values.get("header_name", "Authorization")) or ""
    prefix = values.get("header_prefix", "Bearer ")
    return sent[len(prefix):] if sent.startswith(prefix) else ""
