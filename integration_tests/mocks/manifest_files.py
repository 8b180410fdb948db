"""The manifest mock's non-JSON answers: records as CSV, JSON lines, lines, XML or a zip of CSV members,
gzipped once, twice or as a transfer encoding (the ``file`` block of a route, see manifest_api.py)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from integration_tests.mocks.server import Response


def csv_text(records: list[dict[str, Any]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]) if records else ["id"], delimiter=delimiter)
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def xml_text(tag: str, value: Any) -> str:
    """``value`` as the element ``tag`` (xmltodict.unparse's mapping, without the declaration)."""
    if isinstance(value, list):
        return "".join(xml_text(tag, v) for v in value)
    if not isinstance(value, dict):
        return f"<{tag}>{escape('' if value is None else str(value))}</{tag}>"
    attrs = "".join(f" {k[1:]}={quoteattr(str(v))}" for k, v in value.items() if k.startswith("@"))
    inner = "".join(xml_text(k, v) for k, v in value.items() if not k.startswith(("@", "#")))
    return f"<{tag}{attrs}>{escape(str(value.get('#text', '')))}{inner}</{tag}>"


def body_text(spec: dict[str, Any], kind: str, records: list[dict[str, Any]], body: Any) -> str:
    delimiter = str(spec.get("delimiter", ","))
    if kind == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if kind == "lines":
        return "".join(delimiter.join(map(str, r.values())) + str(spec.get("newline", "\n")) for r in records)
    if kind == "xml":
        return '<?xml version="1.0"?>' + xml_text(str(spec.get("xml_root", "response")), body)
    return csv_text(records, delimiter)


def file_response(spec: dict[str, Any], records: list[dict[str, Any]], body: Any, headers: dict[str, str]) -> Response:
    """The records as a CSV, JSON lines, lines, XML or zip file (or the JSON body), gzipped as ``gzip`` says."""
    kind = spec.get("format", "json")
    types = {"csv": "text/csv", "jsonl": "application/x-ndjson", "zip": "application/zip", "json": "application/json",
             "lines": "text/plain", "xml": "application/xml"}
    encoding = str(spec.get("encoding", "utf-8"))
    if kind == "json":
        data = json.dumps(body, ensure_ascii="encoding" not in spec).encode(encoding)
    elif kind == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            half = (len(records) + 1) // 2
            for name, part in zip(spec.get("members") or ["a.csv", "b.csv"], (records[:half], records[half:]), strict=False):
                member = csv_text(part, str(spec.get("delimiter", ","))).encode(encoding)
                archive.writestr(name, gzip.compress(member) if name in spec.get("gzip_members", ()) else member)
        data = buf.getvalue()
    else:
        data = body_text(spec, kind, records, body).encode(encoding)
    charset = f"; charset={encoding}" if spec.get("charset") else ""
    headers = {"Content-Type": types[kind] + charset, **headers}
    if spec.get("gzip") in ("body", "twice"):
        data, headers["Content-Type"] = gzip.compress(data), "application/gzip"
    if spec.get("gzip") == "twice":
        data = gzip.compress(data)
    elif spec.get("gzip") == "transport":
        data, headers["Content-Encoding"] = gzip.compress(data), "gzip"
    return Response(body=data, headers=headers)
