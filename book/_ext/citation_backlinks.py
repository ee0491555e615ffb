"""Backlinks from the reference list to the places that cite each work.

sphinxcontrib-bibtex links a citation to its entry in the reference list, but an
entry links back only to citations on its own page. After the bibliography
directive has become a list of citations (sphinxcontrib-bibtex's
``BibliographyTransform``, priority 5), this post-transform appends to each entry
"Cited in" and one link per citing page, titled with the page's title and
pointing at the first citation on that page. The reference page is written on
every build, so its backlinks follow the chapters' citations.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform


def citing_pages(domain, bibliography_doc: str) -> dict[str, dict[str, str]]:
    """{citation key: {citing docname: id of the first citation there}}, the bibliography's own page excluded."""
    out: dict[str, dict[str, str]] = {}
    for ref in domain.citation_refs:
        if ref.docname == bibliography_doc:
            continue
        for target in ref.targets:
            out.setdefault(target.key, {}).setdefault(ref.docname, ref.citation_ref_id)
    return out


class CitationBacklinks(SphinxPostTransform):
    default_priority = 6  # after the bibliography's citations exist (5), before references are resolved (10)

    def run(self, **kwargs) -> None:
        domain = self.env.get_domain("cite")
        docname = self.env.docname
        if docname not in {key.docname for key in domain.bibliographies}:
            return
        by_id = {node["ids"][0]: node for node in self.document.findall(nodes.citation) if node["ids"]}
        pages = citing_pages(domain, docname)
        order = {doc: i for i, doc in enumerate(_toc_order(self.env))}
        for citation in domain.citations:
            node = by_id.get(citation.citation_id)
            cited = pages.get(citation.key)
            if node is None or not cited:
                continue
            para = nodes.paragraph(classes=["cited-in"])
            para += nodes.Text("Cited in ")
            for i, doc in enumerate(sorted(cited, key=lambda d: (order.get(d, len(order)), d))):
                if i:
                    para += nodes.Text(", ")
                uri = self.app.builder.get_relative_uri(docname, doc) + "#" + cited[doc]
                title = self.env.titles[doc].astext() if doc in self.env.titles else doc
                para += nodes.reference("", title, internal=True, refuri=uri)
            para += nodes.Text(".")
            node += para


def _toc_order(env) -> list[str]:
    """Documents in reading order: a depth-first walk of the toctrees from the root document."""
    seen: list[str] = []

    def walk(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return seen


def _always_write_bibliographies(app, env) -> list[str]:
    return sorted({key.docname for key in env.get_domain("cite").bibliographies})


def setup(app):
    app.add_post_transform(CitationBacklinks)
    app.connect("env-get-updated", _always_write_bibliographies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
