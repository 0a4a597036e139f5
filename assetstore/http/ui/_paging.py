"""Paging of the UI's lists: one query for the page, a count only when the page is full.

A page says exactly which results it shows out of how many ("51-100 of 123,456"), so a list
is never cut short without saying so."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Page sizes a user can pick; the first is the default.
PAGE_SIZES = (50, 20, 100)
#: The largest ``skip`` a page link may carry (beyond: the last page is reached by sorting).
MAX_SKIP = 1 << 31


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, where it starts and how many there are in all."""

    items: Sequence[T]
    skip: int
    limit: int
    total: int

    @property
    def first(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return self.skip + 1 if self.items else 0

    @property
    def last(self) -> int:
        """1-based position of the last item shown."""
        return self.skip + len(self.items)

    @property
    def previous_skip(self) -> int | None:
        """The ``skip`` of the previous page, None on the first."""
        return max(0, self.skip - self.limit) if self.skip > 0 else None

    @property
    def next_skip(self) -> int | None:
        """The ``skip`` of the next page, None on the last."""
        return self.last if self.last < self.total else None

    @property
    def last_page_skip(self) -> int:
        """The ``skip`` of the last page."""
        return max(0, (self.total - 1) // self.limit * self.limit) if self.total else 0

    @property
    def beyond_the_end(self) -> bool:
        """True when ``skip`` points past the last result (a stale link): say so."""
        return not self.items and self.total > 0


def fetch_page(
    skip: int, limit: int, fetch: Callable[[int, int], Sequence[T]], count: Callable[[], int]
) -> Page[T]:
    """The page of ``limit`` items from ``skip`` (``fetch(skip, limit)``, paged by the store)
    and the total: a short page gives the total away, so ``count`` runs only for a full or an
    empty one."""
    skip = min(max(skip, 0), MAX_SKIP)
    items = fetch(skip, limit)
    total = skip + len(items) if 0 < len(items) < limit else count()
    return Page(items=items, skip=skip, limit=limit, total=total)


def page_size(requested: int | None, most: int | None) -> int:
    """The page size to use: one of :data:`PAGE_SIZES` (the default for anything else),
    never above the server's ``max_results`` hard cap, if it has one."""
    size = requested if requested in PAGE_SIZES else PAGE_SIZES[0]
    return size if most is None else max(1, min(size, most))


__all__ = ["PAGE_SIZES", "Page", "fetch_page", "page_size"]
