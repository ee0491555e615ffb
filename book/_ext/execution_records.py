"""Re-read a chapter when its cached execution changed, even if its notebook did not.

Sphinx decides what to re-read from the source files' times. A chapter's outputs
come from the execution cache, which ``tools/build_site.py`` refreshes when the
package code the chapter ran changes; the notebook itself is then untouched. The
build writes ``_build/.jupyter_cache/records.json`` (chapter -> cache record); this
extension remembers the record each page was read with and marks the page outdated
when it differs.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path("_build") / ".jupyter_cache" / "records.json"


def _records(app) -> dict[str, str]:
    path = Path(app.srcdir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _outdated(app, env, added, changed, removed):
    seen = getattr(env, "execution_records", {})
    return [doc for doc, record in _records(app).items()
            if doc in env.found_docs and doc not in added and doc not in changed and seen.get(doc) != record]


def _read(app, doctree):
    record = _records(app).get(app.env.docname)
    if record is not None:
        if not hasattr(app.env, "execution_records"):
            app.env.execution_records = {}
        app.env.execution_records[app.env.docname] = record


def _purge(app, env, docname):
    getattr(env, "execution_records", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    if not hasattr(env, "execution_records"):
        env.execution_records = {}
    for doc in docnames:
        if doc in getattr(other, "execution_records", {}):
            env.execution_records[doc] = other.execution_records[doc]


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-read", _read)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
