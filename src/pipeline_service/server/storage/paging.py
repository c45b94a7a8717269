"""Pages bounded in bytes: a list or log read ends once its items reach MAX_PAGE_BYTES.

A page query is cut in the database, on keys and sizes only (no item is held for it), by a
window function both backends run: `bounded` wraps the query of one uncut page, and the plan
joins its items on what is kept. `cut` reads the rows into a Page that says whether items were
left out (the route then links the next page: `Link: <…>; rel="next"`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from pipeline_service.server.storage.plans import Row, Rows
from pipeline_service.wire import MAX_PAGE_BYTES

T = TypeVar("T")


class Page(list[T]):
    """Items of a list or log page; `more` when the page ended early at MAX_PAGE_BYTES (the
    items after its last one were not read)."""

    def __init__(self, items: Iterable[T] = (), *, more: bool = False) -> None:
        super().__init__(items)
        self.more = more


def bounded(keys_sql: str, order: str) -> str:
    """The rows of a page that fit MAX_PAGE_BYTES, as a subquery to join the items on.

    keys_sql selects one uncut page (at most `limit` rows, ordered by order) as its join key
    `page_key`, its sort columns and each row's stored size `page_bytes` (`{doc_bytes}`) —
    nothing else. Kept: the rows before which fewer than MAX_PAGE_BYTES were counted (the row
    that reaches the cap is the page's last), each with `page_rows`, the number of rows of the
    uncut page.
    """
    return (
        "SELECT * FROM (SELECT uncut.*, "
        f"SUM(page_bytes) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) - page_bytes "
        "AS page_before, COUNT(*) OVER () AS page_rows "
        f"FROM ({keys_sql}) AS uncut) AS cut WHERE page_before < {MAX_PAGE_BYTES}"
    )


def cut(rows: Rows, read: Callable[[Row], T]) -> Page[T]:
    """The Page of rows joined on a `bounded` subquery (each with `page_rows`), read by read."""
    return Page((read(row) for row in rows), more=bool(rows) and len(rows) < rows[0]["page_rows"])
