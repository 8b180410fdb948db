"""An export API on 127.0.0.1: packed files and one huge JSON document, as bulk and report APIs serve them.

Real APIs hand out exports as files: a ``.csv.gz`` sent as ``application/gzip`` with no
Content-Encoding (Amazon SP-API reports, Google Ads), a zip of JSON-lines parts (Mixpanel, Zendesk
exports), one large JSON document (Salesforce Bulk results, a full-catalog dump). Routes:

- ``/exports/orders.csv.gz``: three orders as CSV, gzip, ``Content-Type: application/gzip``;
- ``/exports/bundle.zip``: ``orders/2026-01.jsonl``, ``orders/2026-02.jsonl`` and ``README.txt``;
- ``/exports/all.json?n=N[&gzip=1]``: ``{"meta": {...}, "data": [N records], "done": true}`` made as
  it is sent (chunked, so any size costs the server nothing), gzip on the fly with ``gzip=1``;
- ``/exports/all.csv?n=N[&gzip=1]``: an N-row CSV export (quoted commas and newlines), made as sent;
- ``/hostile/gzip_bomb``: 1 GB of zeros as a 1 MB gzip file, no Content-Encoding;
- ``/hostile/zip_bomb``: a zip whose one member inflates to 256 MB;
- ``/hostile/huge_record``: ``{"data": [{"id": 1, "blob": "xxx...`` that never ends (until ``cap``);
- ``/hostile/trickle_record``: ``{"data": [{"id": 1, "pad": "...`` one byte every 0.2 s;
- ``/hostile/cut_document``: ten records of a document whose connection then drops (Content-Length short).

Every loop is bounded (``cap`` bytes or seconds) and stops when the client goes away.
"""

from __future__ import annotations

import gzip
import io
import time
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from urllib.parse import parse_qs, urlsplit

from integration_tests.mocks import hostile
from integration_tests.mocks.hostile import gzip_bomb

MB = 2**20
ORDERS_CSV = b"id,total,status\no-1,12.50,paid\no-2,7.00,refunded\no-3,99.90,paid\n"


def jsonl(ids: range) -> bytes:
    return b"".join(b'{"id": "e-%d", "kind": "event"}\n' % i for i in ids)


@cache
def bundle() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("orders/2026-01.jsonl", jsonl(range(0, 3)))
        archive.writestr("orders/2026-02.jsonl", jsonl(range(3, 5)))
        archive.writestr("README.txt", b"Exported by the mock.\n")
    return out.getvalue()


@cache
def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive, \
            archive.open("events.jsonl", "w", force_zip64=True) as member:
        block = b"\0" * MB
        for _ in range(256):
            member.write(block)
    return out.getvalue()


def record(i: int) -> bytes:
    """About 200 bytes, with the escapes, nesting and big integers a real export has."""
    return (b'{"id": %d, "name": "Customer \\"%d\\"", "email": "c%d@example.com", "tags": ["a", "b"], '
            b'"address": {"city": "Paris", "lines": ["1 rue {x}", "]"]}, "balance": 123456789012345678901%d, '
            b'"updated_at": "2026-01-01T00:00:00Z"}' % (i, i, i, i % 10))


def document(n: int) -> Iterator[bytes]:
    """The document in pieces of about 1 MB."""
    yield b'{"meta": {"count": %d, "note": "data follows ]"}, "data": [' % n
    batch: list[bytes] = []
    for i in range(n):
        batch.append(record(i))
        if len(batch) == 5000:
            yield b",".join(batch) + (b"," if i < n - 1 else b"")
            batch = []
    if batch:
        yield b",".join(batch)
    yield b'], "done": true}'


def csv_export(n: int) -> Iterator[bytes]:
    """A CSV export in pieces: a header, then rows with quoted commas and newlines."""
    yield b"id,name,note,amount\r\n"
    for start in range(0, n, 5000):
        yield b"".join(b'%d,Customer %d,"line one, with comma\nline two",%d.50\r\n' % (i, i, i)
                       for i in range(start, min(n, start + 5000)))


def gzipped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    for piece in pieces:
        yield packer.compress(piece)
    yield packer.flush()


class _Handler(hostile.Handler):
    """The export routes (the hostile mock's server and hang-up handling)."""

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = getattr(self, "_" + parts.path.strip("/").replace("/", "_").replace(".", "_"), None)
        if route is None:
            self.send_error(404)
            return
        try:
            route()
        except OSError:  # the client hung up
            self.close_connection = True
            self.server.stopped.add(parts.path)

    def _whole(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _chunked(self, pieces: Iterator[bytes], kind: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        for piece in pieces:
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            if sent > self.server.cap:
                return
        self.wfile.write(b"0\r\n\r\n")

    def _exports_orders_csv_gz(self) -> None:
        self._whole(gzip.compress(ORDERS_CSV), "application/gzip")

    def _exports_bundle_zip(self) -> None:
        self._whole(bundle(), "application/zip")

    def _exports_all_json(self) -> None:
        pieces = document(int(self.query.get("n", "10")))
        if self.query.get("gzip"):
            self._chunked(gzipped(pieces), "application/gzip")
        else:
            self._chunked(pieces)

    def _exports_all_csv(self) -> None:
        pieces = csv_export(int(self.query.get("n", "10")))
        self._chunked(gzipped(pieces) if self.query.get("gzip") else pieces, "text/csv")

    def _hostile_gzip_bomb(self) -> None:
        self._whole(gzip_bomb(), "application/octet-stream")

    def _hostile_zip_bomb(self) -> None:
        self._whole(zip_bomb(), "application/zip")

    def _hostile_huge_record(self) -> None:
        block = b"x" * (256 * 1024)
        self._chunked(_then(b'{"data": [{"id": 1, "blob": "', _forever(block)))

    def _hostile_cut_document(self) -> None:
        head = b'{"data": [' + b",".join(record(i) for i in range(10)) + b","
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(head) + 10_000))
        self.end_headers()
        self.wfile.write(head)
        self.close_connection = True  # the connection drops with 10,000 bytes still promised

    def _hostile_trickle_record(self) -> None:
        self._chunked(_then(b'{"data": [{"id": 1, "pad": "', _slowly(b"p", 0.2, 120)))


def _then(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _forever(block: bytes) -> Iterator[bytes]:
    while True:
        yield block


def _slowly(byte: bytes, every: float, times: int) -> Iterator[bytes]:
    for _ in range(times):
        time.sleep(every)
        yield byte


class ExportServer(hostile.HostileServer):
    """``with ExportServer() as srv: ... srv.url + "/exports/bundle.zip"``."""

    def __init__(self, cap: int = 1024 * MB) -> None:
        super().__init__(cap, _Handler)
