"""A response body of known length read in one call, as ``Response.iter_content`` would read it in chunks.

``GuardedSession`` reads every body itself, in 64 KB chunks, to stop past ``limits.max_bytes``
decoded bytes (rest/transport.py). For a body whose length urllib3 knows (a ``Content-Length``,
no chunked ``Transfer-Encoding``), that is at most ``max_bytes`` and that is not encoded (no
``Content-Encoding``: what arrives is what is kept), the bound holds before reading: then
:func:`read_whole` reads it with one ``HTTPResponse.read`` instead of a chunk loop through
requests' and urllib3's generators (~9% of a request's CPU on a fast local API). The same bytes, the
same checks (urllib3 still raises a short body as ``IncompleteRead``) and the same exceptions:
requests' ``iter_content`` mapping of urllib3's errors is repeated here.
"""

from __future__ import annotations

import requests
from requests.exceptions import ChunkedEncodingError, ContentDecodingError
from requests.exceptions import SSLError as RequestsSSLError
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError


def read_whole(resp: requests.Response, max_bytes: int) -> bool:
    """Read ``resp``'s body into it in one read when its length is known, at most ``max_bytes`` and
    nothing decodes it; False (nothing read) otherwise: read it in chunks then."""
    raw = resp.raw
    length = getattr(raw, "length_remaining", None)
    if type(length) is not int or length > max_bytes or resp.headers.get("content-encoding"):
        return False
    try:
        body = raw.read(decode_content=True)
    except ProtocolError as e:  # as requests.Response.iter_content maps them
        raise ChunkedEncodingError(e)  # noqa: B904
    except DecodeError as e:
        raise ContentDecodingError(e)  # noqa: B904
    except ReadTimeoutError as e:
        raise requests.ConnectionError(e)  # noqa: B904
    except SSLError as e:
        raise RequestsSSLError(e)  # noqa: B904
    resp._content = body or b""
    resp._content_consumed = True
    return True
