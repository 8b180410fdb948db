"""Stop conditions: a paginator's extra ways to know a page was the last (``pagination.stop``).

    stop: empty_page                                   # EmptyPage
    stop: {type: total_count, path: meta.total}        # TotalCount: records seen reach the total
    stop: {type: total_pages, path: result_info.total_pages}
    stop: {type: field, path: has_more, value: false}  # FieldEquals

Each also says, when the pages ended anyway, what the response claims is still to come
(``more_expected``): the paginator warns with it.
"""

from __future__ import annotations

from typing import Any

from source_solidafy.rest.pages import as_int
from source_solidafy.rest.paths import compile_path


class StopCondition:
    """Says, after a page, that there is no next one."""

    key = "pagination.stop"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        raise NotImplementedError

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        """What the response says is still to come although the pages ended (None: nothing, or unknown)."""
        return None

    def pages_for(self, body: Any, page_size: int | None) -> tuple[int, str] | None:
        """How many pages the response says there are in all, and who says so (None: it does not say)."""
        return None


class EmptyPage(StopCondition):
    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        return not records


class _ReportedTotal(StopCondition):
    """Stop once what was read reaches a total the API reports at ``path``."""

    kind, unit = "", ""

    def __init__(self, path: str) -> None:
        self.path = compile_path(path)
        self.key = f"pagination.stop {self.kind} '{path}'"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        count = as_int(self.path.get(body))
        return count is not None and self._so_far(pages, total) >= count

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        count, so_far = as_int(self.path.get(body)), self._so_far(pages, total)
        return f"{self.key} says {count} {self.unit} and {so_far} were read" if count is not None and so_far < count \
            else None

    def pages_for(self, body: Any, page_size: int | None) -> tuple[int, str] | None:
        count = as_int(self.path.get(body))
        pages = self._pages(count, page_size) if count is not None and count >= 0 else None
        return (pages, f"{self.key} says {count} {self.unit}") if pages is not None else None

    def _so_far(self, pages: int, total: int) -> int:
        raise NotImplementedError

    def _pages(self, count: int, page_size: int | None) -> int | None:
        raise NotImplementedError


class TotalCount(_ReportedTotal):
    """Stop once the records seen reach the total the API reports (``meta.total``)."""

    kind, unit = "total_count", "records"

    def _so_far(self, pages: int, total: int) -> int:
        return total

    def _pages(self, count: int, page_size: int | None) -> int | None:
        return -(-count // page_size) if page_size else None


class TotalPages(_ReportedTotal):
    """Stop once the pages fetched reach the page count the API reports (``result_info.total_pages``)."""

    kind, unit = "total_pages", "pages"

    def _so_far(self, pages: int, total: int) -> int:
        return pages

    def _pages(self, count: int, page_size: int | None) -> int | None:
        return count


class FieldEquals(StopCondition):
    """Stop when a body field has a value (``has_more`` == false, ``end_of_stream`` == true)."""

    def __init__(self, path: str, value: Any) -> None:
        self.path, self.value = compile_path(path), value
        self._text = _norm(value)
        self.key = f"pagination.stop field '{path}' == {value!r}"

    def should_stop(self, body: Any, records: list[Any], pages: int, total: int) -> bool:
        found = self.path.get(body, _ABSENT)
        return found is not _ABSENT and (found == self.value or _norm(found) == self._text)

    def more_expected(self, body: Any, pages: int, total: int) -> str | None:
        found = self.path.get(body, _ABSENT)
        if found is _ABSENT or found is None or self.should_stop(body, [], pages, total):
            return None
        return f"'{self.path.text}' is {found!r}, not {self.value!r}"


_ABSENT = object()


def _norm(value: Any) -> str:
    return str(value).lower() if isinstance(value, (bool, str, int, float)) or value is None else repr(value)
