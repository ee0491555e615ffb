"""The journey figure and the introduction's stage table, generated from one list.

The chapters and their order come from ``_toc.yml`` (the part captioned "The journey"); each chapter's
box label and headline come from ``book/stages.yml``. At ``config-inited`` this writes
``book/_static/journey.svg`` (the figure) and ``book/_stages.md`` (the table, included by
``book/intro.md``). A journey chapter without a row, or a row for no chapter, stops the build.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import yaml

PART = "The journey"
COLORS = ["#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#56B4E9"]
COLUMNS, BOX_W, BOX_H, GAP, FONT = 4, 150, 86, 34, 17


def stages(srcdir: Path) -> list[dict]:
    """[{number, chapter, label, gives}] in the order of the table of contents."""
    toc = yaml.safe_load((srcdir / "_toc.yml").read_text(encoding="utf-8"))
    part = next((p for p in toc.get("parts", []) if p.get("caption") == PART), None)
    if part is None:
        raise ValueError(f"_toc.yml has no part captioned {PART!r}")
    chapters = [c["file"] for c in part["chapters"]]
    rows = {row["chapter"]: row for row in
            yaml.safe_load((srcdir / "book" / "stages.yml").read_text(encoding="utf-8"))["stages"]}
    missing, extra = [c for c in chapters if c not in rows], [r for r in rows if r not in chapters]
    if missing or extra:
        raise ValueError(f"book/stages.yml must have one row per journey chapter of _toc.yml: "
                         f"missing {missing}, not in the toc {extra}")
    return [dict(number=i + 1, chapter=c, label=rows[c]["label"], gives=rows[c]["gives"])
            for i, c in enumerate(chapters)]


def _lines(label: str, width: int = 13) -> list[str]:
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def svg(rows: list[dict]) -> str:
    """Boxes in rows of four, left to right then right to left, joined by arrows."""
    n_rows = -(-len(rows) // COLUMNS)
    width = COLUMNS * BOX_W + (COLUMNS - 1) * GAP + 20
    height = n_rows * BOX_H + (n_rows - 1) * GAP + 20
    names = ", ".join(f"{r['number']} {r['label']}" for r in rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'font-family="system-ui, sans-serif" font-size="{FONT}">',
           f"<title>The journey in {len(rows)} stages: {escape(names)}</title>",
           '<rect width="100%" height="100%" fill="#ffffff"/>',
           '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']

    def place(i):
        row, col = divmod(i, COLUMNS)
        if row % 2:
            col = COLUMNS - 1 - col
        return 10 + col * (BOX_W + GAP), 10 + row * (BOX_H + GAP)

    for i in range(len(rows) - 1):
        (x0, y0), (x1, y1) = place(i), place(i + 1)
        if y0 == y1:
            a, b = (x0 + BOX_W, x1) if x1 > x0 else (x0, x1 + BOX_W)
            y = y0 + BOX_H / 2
            out.append(f'<line x1="{a}" y1="{y}" x2="{b - 2 if b > a else b + 2}" y2="{y}" stroke="#555" '
                       f'stroke-width="2" marker-end="url(#arr)"/>')
        else:
            x = x0 + BOX_W / 2
            out.append(f'<line x1="{x}" y1="{y0 + BOX_H}" x2="{x}" y2="{y1 - 2}" stroke="#555" stroke-width="2" '
                       f'marker-end="url(#arr)"/>')
    for i, r in enumerate(rows):
        x, y = place(i)
        color = COLORS[i % len(COLORS)]
        lines = _lines(r["label"])
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="10" fill="{color}" '
                   f'fill-opacity="0.12" stroke="{color}" stroke-width="2"/>')
        cx, top = x + BOX_W / 2, y + BOX_H / 2 - (len(lines) * (FONT + 3)) / 2
        out.append(f'<text x="{cx}" y="{top}" text-anchor="middle" font-weight="700" fill="#222">{r["number"]}</text>')
        for k, line in enumerate(lines):
            out.append(f'<text x="{cx}" y="{top + (k + 1) * (FONT + 3)}" text-anchor="middle" '
                       f'fill="#222">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(rows: list[dict]) -> str:
    lines = ["| Stage | Chapter | The number it gives you |", "|---|---|---|"]
    lines += [f"| {r['number']} | {{doc}}`../{r['chapter']}` | {r['gives']} |" for r in rows]
    return "\n".join(lines) + "\n"


def write(srcdir: Path) -> None:
    rows = stages(srcdir)
    for path, text in ((srcdir / "book" / "_static" / "journey.svg", svg(rows)),
                       (srcdir / "book" / "_stages.md", table(rows))):
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def _config_inited(app, config):
    write(Path(app.srcdir))


def setup(app):
    app.connect("config-inited", _config_inited, priority=10)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
