"""Load plotly and the figure scripts only on pages that hold a figure.

``html_js_files`` adds plotly.js (3.6 MB, about a second of script work per page load) and the
figure helpers to every page; the API reference, the glossary and the references have no figure.
Before each page is written, this drops those scripts from pages whose body holds no plotly figure.
"""

from __future__ import annotations

from pathlib import PurePosixPath

FIGURE_SCRIPTS = frozenset({"plotly-config.js", "plotly.min.js", "explorer.js", "figure-fit.js"})
FIGURE_MARK = "plotly-graph-div"


def _script_name(script) -> str:
    return PurePosixPath(str(getattr(script, "filename", script))).name


def _page_context(app, pagename, templatename, context, doctree) -> None:
    if FIGURE_MARK in context.get("body", ""):
        return
    context["script_files"] = [s for s in context.get("script_files", []) if _script_name(s) not in FIGURE_SCRIPTS]


def setup(app):
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
