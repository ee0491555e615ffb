"""The book's chapters, named by slug so that inserting one renumbers nothing in the package.

A chapter is referred to by its notebook's slug without the number
(``"load-balancer"`` for ``notebooks/04-load-balancer.ipynb``); its number is
looked up only for display.  :data:`CHAPTERS` is the reading order, the one
place to edit when a chapter is inserted (``tests/planner/test_chapters.py``
checks it against the notebooks).
"""

from __future__ import annotations

__all__ = ["CHAPTERS", "chapter_number"]

#: Notebook slugs of the journey's chapters, in reading order.
CHAPTERS = (
    "single-server",
    "database-tier",
    "vertical-vs-horizontal",
    "load-balancer",
    "database-replication",
    "cache",
    "cdn",
    "stateless-web-tier",
    "data-centers",
    "message-queues",
    "logging-metrics-automation",
    "sharding",
    "millions-of-users",
)


def chapter_number(slug: str) -> int:
    """The number of the chapter whose notebook is ``notebooks/NN-<slug>.ipynb`` (1-based, reading order)."""
    try:
        return CHAPTERS.index(slug) + 1
    except ValueError:
        raise ValueError(f"slug must be one of {CHAPTERS}, got {slug!r}") from None
