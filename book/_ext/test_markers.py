"""Hide nbval's cell markers on the site.

A chapter's checked cells start with ``# NBVAL_CHECK_OUTPUT`` (nbval's comment form, beside the
``nbval-check-output`` tag): the line tells nbval to compare the stored output, and a reader of the
page has no use for it. When a page's doctree is read, this drops such marker lines from its code blocks.
"""

from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^# NBVAL_[A-Z_]+[ \t]*(?:\n|$)", re.MULTILINE)


def without_markers(code: str) -> str:
    """``code`` without its nbval marker lines."""
    return MARKER.sub("", code)


def _hide(app, doctree) -> None:
    for block in list(doctree.findall(nodes.literal_block)):
        code = block.astext()
        if "# NBVAL_" not in code:
            continue
        shown = without_markers(code)
        block.rawsource = shown
        block.children = []
        block += nodes.Text(shown)


def setup(app):
    app.connect("doctree-read", _hide)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
