"""Errors waitress answers itself (before the app runs) as our JSON envelope, not plain text.

waitress refuses a body over its ``max_request_body_size`` (413), oversized headers (431), a
malformed request (400) and an unknown transfer encoding (501) while parsing, with a ``text/plain``
page. Clients branch on ``error.code``, so these get the same envelope as every other error.
"""

from __future__ import annotations

from typing import Any

import orjson
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

# waitress's own limit is the server's plus this: a body a little over the limit is read whole and
# refused by the app (a client that is still sending when the server closes gets a reset, not the 413)
BODY_SLACK = 65536
_CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large", 501: "not_implemented"}


class JsonErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        adj = self.channel.server.adj
        if error.code == 413:
            message = f"request body is larger than this server's limit of {adj.max_request_body_size - BODY_SLACK} bytes"
        else:
            message = f"{error.reason}: {error.body}".rstrip(": ")
        body = orjson.dumps({"success": False, "error": {"code": _CODES.get(error.code, "http_error"), "message": message}})
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def use_json_errors(server: Any) -> Any:
    """Make a server from ``waitress.create_server`` answer its own errors with the envelope."""
    servers = [server] if hasattr(server, "channel_class") else [s for s in server.map.values() if hasattr(s, "channel_class")]
    for one in servers:
        one.channel_class = JsonErrorChannel
    return server
