"""Packed bodies: gzip and zip, found by the YAML's ``compression`` or by their first bytes, unpacked
within the response limit (``http.max_response_mb`` counts the unpacked bytes: a gzip or zip bomb
stops there with a clear error instead of filling memory).

    unpack(body, Compression("auto"), limit=128 * 2**20, where="GET https://x/export")
    # -> [Member(None, b"...")] for a plain or gzip body, one Member per zip file (its name)

A ``Content-Encoding: gzip`` body arrives unpacked already (the transport bounds that one).
"""

from __future__ import annotations

import fnmatch
import io
import itertools
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, NamedTuple

from source_solidafy.errors import StreamError
from source_solidafy.rest.decoders import DecodableResponse, DecodedPage, Decoder
from source_solidafy.rest.response import parse_json
from source_solidafy.rest.transport import DEFAULT_MAX_RESPONSE_MB

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty archive's end record
_PIECE = 1 << 20  # unpacked bytes produced per step (so the limit is checked every MB)


class Packing(NamedTuple):
    """What the YAML says: ``kind`` (auto, gzip, zip, none) and, for a zip, a glob of member names."""

    kind: str = "auto"
    members: str | None = None
    inner_gzip: int = 0  # gzip layers inside (a gzip body's, each zip member's), unpacked where they start like gzip


class Member(NamedTuple):
    """One unpacked body: ``name`` is the zip member's (None for a plain or gzip body)."""

    name: str | None
    content: bytes


def too_large(where: str, limit: int) -> StreamError:
    return StreamError(f"{where}: the response is larger than {limit / 2**20:g} MB once unpacked, the limit "
                       "(http.max_response_mb); stopped unpacking there")


def kind_of(first: bytes, packing: Packing) -> str:
    """``gzip``, ``zip`` or ``none``: what the first bytes are, as far as ``packing`` lets them count."""
    if packing.kind == "none":
        return "none"
    if first.startswith(GZIP_MAGIC) and packing.kind in ("auto", "gzip"):
        return "gzip"
    if first.startswith(ZIP_MAGICS) and packing.kind in ("auto", "zip"):
        return "zip"
    return "none"


def unpack(content: bytes, packing: Packing, limit: int, where: str, encoded: bool = False) -> list[Member]:
    """The body's members. ``encoded``: the response had a Content-Encoding (already undone), so a
    ``gzip`` body that does not start like one is taken as it is."""
    kind = kind_of(content[:4], packing)
    if kind == "gzip":
        return [Member(None, b"".join(gunzip_layers([content], packing.inner_gzip + 1, limit, where)))]
    if kind == "zip":
        members = unzip(content, packing.members, limit, where)
        return _inner_gzip(members, packing.inner_gzip, limit, where) if packing.inner_gzip else members
    if packing.kind in ("gzip", "zip") and not (packing.kind == "gzip" and encoded) and content.strip():
        raise StreamError(f"{where}: decoder.compression is {packing.kind} but the body is not {packing.kind} "
                          f"(it starts with {content[:16]!r}); set compression: auto to take any body")
    return [Member(None, content)]


def gunzip(chunks: Iterable[bytes], limit: int, where: str) -> Iterator[bytes]:
    """The unpacked bytes of a gzip stream (several members one after another allowed), at most ``limit``.

    A body that ends inside a member is truncated: an error, never a silent short read.
    """
    inflater = zlib.decompressobj(wbits=31)
    total, inside = 0, False  # inside: the current member has begun and not ended
    try:
        for chunk in chunks:
            data = chunk
            while data:
                inside = True
                piece = inflater.decompress(data, _PIECE)
                total += len(piece)
                if total > limit:
                    raise too_large(where, limit)
                if piece:
                    yield piece
                data = inflater.unconsumed_tail
                if inflater.eof:  # the next member, if any, starts in unused_data
                    data, inside = (inflater.unused_data + data).lstrip(b"\0"), False
                    inflater = zlib.decompressobj(wbits=31)
    except zlib.error as exc:
        raise StreamError(f"{where}: not a readable gzip body ({exc})") from None
    if inside:
        raise StreamError(f"{where}: the gzip body ends early (truncated); its records are not all there")


def _peeked(chunks: Iterator[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes (at least 4 unless the body is shorter: tiny first chunks see the magic whole)
    and the chunks, those bytes included."""
    first = next(chunks, b"")
    while len(first) < 4 and (more := next(chunks, None)) is not None:
        first += more
    return first, itertools.chain([first], chunks)


def gunzip_layers(chunks: Iterable[bytes], layers: int, limit: int, where: str) -> Iterator[bytes]:
    """The bytes inside up to ``layers`` gzip layers, each unpacked where the bytes start like gzip (the
    CDK's GzipParser inside a GzipParser), read as they come; each layer at most ``limit`` bytes."""
    stream = iter(chunks)
    for _ in range(layers):
        first, stream = _peeked(stream)
        if not first.startswith(GZIP_MAGIC):
            break
        stream = gunzip(stream, limit, where)
    return stream


def _inner_gzip(members: list[Member], layers: int, limit: int, where: str) -> list[Member]:
    """Each zip member unpacked through its gzip layers, all of them together within ``limit``."""
    budget, out = _Budget(limit, where), []
    for member in members:
        parts = []
        for piece in gunzip_layers([member.content], layers, limit, where):
            budget.spend(len(piece))
            parts.append(piece)
        out.append(Member(member.name, b"".join(parts)))
    return out


def unpacked_chunks(chunks: Iterator[bytes], packing: Packing, response: Any, where: str) -> Iterator[bytes]:
    """A streamed body's chunks, unpacked as they come when it starts like a gzip file (a streaming
    reader bounds what it holds per record instead of the whole: no overall limit here)."""
    first, chunks = _peeked(chunks)
    if kind_of(first[:4], packing) == "gzip":
        return gunzip_layers(chunks, packing.inner_gzip + 1, sys.maxsize, where)
    encoded = (getattr(response, "headers", None) or {}).get("Content-Encoding")
    if packing.kind == "gzip" and not encoded and first.strip():
        raise StreamError(f"{where}: decoder.compression is gzip but the body is not gzip (it starts with "
                          f"{first[:16]!r}); set compression: auto to take any body")
    return chunks


MAX_MEMBERS = 10_000  # a zip's entries each cost ~600 bytes of memory once listed: a bound on those too


def entry_count(content: bytes) -> int | None:
    """The entries a zip's end record declares (ZIP64 too), read before anything is listed; None if
    there is no end record (zipfile then says the archive is unreadable)."""
    at = content.rfind(b"PK\x05\x06", max(0, len(content) - 65_557))
    if at < 0:
        return None
    total = int.from_bytes(content[at + 10:at + 12], "little")
    locator = at - 20
    if total == 0xFFFF and locator >= 0 and content[locator:locator + 4] == b"PK\x06\x07":
        end64 = int.from_bytes(content[locator + 8:locator + 16], "little")
        if content[end64:end64 + 4] == b"PK\x06\x06":
            total = int.from_bytes(content[end64 + 32:end64 + 40], "little")
    return total


def unzip(content: bytes, members: str | None, limit: int, where: str) -> list[Member]:
    """Every file of a zip (or those matching the ``members`` glob), unpacked within ``limit`` in all."""
    declared = entry_count(content)
    if declared is not None and declared > MAX_MEMBERS:
        raise StreamError(f"{where}: the zip archive declares {declared:,} entries, more than {MAX_MEMBERS:,} (the "
                          "limit: each entry costs memory once listed); refused")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise StreamError(f"{where}: not a readable zip archive ({exc})") from None
    picked = [i for i in infos if members is None or fnmatch.fnmatchcase(i.filename, members)]
    if not picked and infos:
        names = [i.filename for i in infos]
        import difflib  # only for the hint: not imported at start-up
        close = difflib.get_close_matches(members or "", names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise StreamError(f"{where}: no zip member matches decoder.compression.members '{members}' (the archive "
                          f"has {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}){hint}")
    budget = _Budget(limit, where)
    return [Member(info.filename, _read_member(archive, info, budget, where)) for info in picked]


class _Budget:
    """The unpacked bytes left for the whole archive."""

    def __init__(self, limit: int, where: str) -> None:
        self.left, self.limit, self.where = limit, limit, where

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise too_large(self.where, self.limit)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, where: str) -> bytes:
    """One member read a MB at a time (its declared size is not trusted), CRC checked by zipfile."""
    parts: list[bytes] = []
    try:
        with archive.open(info) as member:
            for piece in iter(_reader(member), b""):
                budget.spend(len(piece))
                parts.append(piece)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
        raise StreamError(f"{where}: zip member '{info.filename}' cannot be read ({exc})") from None
    return b"".join(parts)


def _reader(member: IO[bytes]) -> Callable[[], bytes]:
    return lambda: member.read(_PIECE)


# ----------------------------------------------------------------------------- the decoder wrapper


def limit_of(response: Any) -> int:
    """The response limit of the client that read ``response`` (http.max_response_mb), in bytes."""
    return int(getattr(response, "max_bytes", None) or DEFAULT_MAX_RESPONSE_MB * 2**20)


class MemberBody:
    """One unpacked member seen as a response: the decoders read it as they read a body."""

    __slots__ = ("url", "method", "content", "headers", "_redact", "_json")

    def __init__(self, response: DecodableResponse, member: Member) -> None:
        self.url = f"{response.url} (zip member {member.name})" if member.name else response.url
        self.method, self.content = response.method, member.content
        self.headers: dict[str, str] = {}  # the response's Content-Type describes the package, not this
        self._redact: Callable[[str], str] = getattr(response, "redact", None) or (lambda text: text)
        self._json: Any = _UNREAD

    def json(self) -> Any:
        if self._json is _UNREAD:
            self._json = parse_json(self.content, self.method, self.url, None, self._redact)
        return self._json

    def redact(self, text: str) -> str:
        return self._redact(text)


_UNREAD = object()


class Unpacking(Decoder):
    """``inner`` over the unpacked body: each zip member in turn (records one after another, the
    first member's body for the paginator), a gzip body once unpacked, any other body as it is."""

    def __init__(self, inner: Decoder, packing: Packing) -> None:
        self.inner, self.packing = inner, packing
        self.missing_means_empty = inner.missing_means_empty

    def bind(self, config: Mapping[str, Any]) -> None:
        self.inner.bind(config)

    def decode(self, response: DecodableResponse) -> DecodedPage:
        if kind_of(response.content[:4], self.packing) == "none" and self.packing.kind in ("auto", "none"):
            return self.inner.decode(response)  # the common case: a plain body, looked at once
        headers = getattr(response, "headers", None) or {}
        members = unpack(response.content, self.packing, limit_of(response), f"{response.method} {response.url}",
                         encoded=bool(headers.get("Content-Encoding") or headers.get("content-encoding")))
        pages = [self.inner.decode(MemberBody(response, member)) for member in members]
        if len(pages) == 1:
            return pages[0]
        missing = next((page.missing for page in pages if page.missing is not None), None)
        return DecodedPage(pages[0].body if pages else None, [r for page in pages for r in page.records], missing)
