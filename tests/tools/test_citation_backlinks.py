"""book/_ext/citation_backlinks.py: each reference-list entry links back to the pages that cite it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BIB = """@book{law2015, author = {Law, Averill M.}, title = {Simulation Modeling and Analysis}, year = {2015},
  publisher = {McGraw-Hill}}
@book{kleinrock1975, author = {Kleinrock, Leonard}, title = {Queueing Systems}, year = {1975}, publisher = {Wiley}}
@book{unused2000, author = {Nobody, A.}, title = {Never Cited}, year = {2000}, publisher = {None}}
"""


def build(tmp_path: Path) -> Path:
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "refs.bib").write_text(BIB, encoding="utf-8")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['sphinxcontrib.bibtex', 'citation_backlinks']\n"
        "bibtex_bibfiles = ['refs.bib']\nbibtex_reference_style = 'author_year'\n", encoding="utf-8")
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n\n   two\n   one\n   references\n", encoding="utf-8")
    (src / "one.rst").write_text("Chapter one\n===========\n\nQueues :cite:p:`law2015,kleinrock1975`, "
                                 "again :cite:p:`law2015`.\n", encoding="utf-8")
    (src / "two.rst").write_text("Chapter two\n===========\n\nSimulation :cite:p:`law2015`.\n", encoding="utf-8")
    (src / "references.rst").write_text("References\n==========\n\n.. bibliography::\n   :all:\n", encoding="utf-8")
    out = tmp_path / "html"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html", warningiserror=True,
                 status=None)
    app.build()
    return out


def entry(html: str, title: str) -> str:
    """The HTML of one reference-list entry, from its title to the next entry."""
    start = html.index(title)
    nxt = html.find('<div class="citation"', start)
    return html[start:nxt if nxt > 0 else None]


def test_each_entry_links_to_the_first_citation_on_every_citing_page_in_reading_order(tmp_path):
    pytest.importorskip("sphinxcontrib.bibtex")
    html = (build(tmp_path) / "references.html").read_text(encoding="utf-8")
    law = entry(html, "Simulation Modeling and Analysis")
    links = re.findall(r'<a class="reference internal" href="([^"#]+)#([^"]+)">([^<]+)</a>', law)
    assert [(page, title) for page, _, title in links] == [("two.html", "Chapter two"), ("one.html", "Chapter one")]
    for page, anchor, _ in links:  # each anchor is a citation on that page
        assert f'id="{anchor}"' in (tmp_path / "html" / page).read_text(encoding="utf-8")
    assert "Cited in" in law
    kleinrock = entry(html, "Queueing Systems")
    assert re.findall(r'href="([^"#]+)#', kleinrock) == ["one.html"]
    assert "Cited in" not in entry(html, "Never Cited")
