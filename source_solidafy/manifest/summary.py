"""The ``solidafy-cdk validate FILE`` report: what a manifest defines, one line per stream."""

from __future__ import annotations

from source_solidafy.manifest.auth_choice import describe_auth
from source_solidafy.manifest.models import Manifest


def _cell(value: str | None) -> str:
    return value if value else "-"


def summarize(manifest: Manifest) -> str:
    """Name, version, base_url, auth type, stream count, then one aligned line per stream."""
    lines = [
        f"{manifest.name} {manifest.version}: valid",
        f"  base_url: {manifest.base_url.source}",
        f"  auth: {describe_auth(manifest)}",
        f"  streams: {len(manifest.streams)}",
    ]
    rows = [("stream", "pagination", "partition", "cursor_field", "primary_key")]
    for s in manifest.streams:
        rows.append(
            (
                s.name,
                _cell(s.pagination_type),
                _cell(s.partition_type),
                _cell(s.cursor_field),
                _cell(", ".join(s.primary_key)),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines.extend(f"  warning: {w}" for w in manifest.warnings)
    return "\n".join(lines)
