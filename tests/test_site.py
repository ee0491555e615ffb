"""The built website, opened page by page in headless Chromium.

Needs ``_build/html`` (``make site``) and Debian's ``chromium``.  On a reader's
machine without them these tests skip with a message; under ``CI=true`` they
must run, so a missing browser or site fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SCALING_LAB_SITE", ROOT / "_build" / "html"))
SHOTS = SITE.parent / "screenshots"
# Full-page screenshots cost about two seconds a page; they are for people to look at, so only on request.
TAKE_SHOTS = os.environ.get("SCALING_LAB_SCREENSHOTS", "").lower() in ("1", "true", "yes")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SKIP_PAGES = {"search.html", "genindex.html", "index.html", "py-modindex.html"}

pytestmark = pytest.mark.browser


def _pages() -> list[Path]:
    if not SITE.is_dir():
        return []
    return sorted(p for p in SITE.rglob("*.html")
                  if p.name not in SKIP_PAGES and not {"_static", "_sources", "_images"} & set(p.parts))


def _require(condition: bool, message: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser test must run)")
        pytest.skip(message)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    _require(SITE.is_dir(), f"{SITE} is missing: run `make site` first")
    handler = functools.partial(_Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    _require(CHROMIUM is not None, "chromium is not installed (Debian package `chromium`): browser test skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is pinned in requirements.txt
        _require(False, "playwright is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


FIGURES_DRAWN = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(gd => ({
    id: gd.id, svg: !!gd.querySelector('svg.main-svg'),
    sliders: (gd.layout && gd.layout.sliders || []).length,
    drawnSliders: gd.querySelectorAll('g.slider-group').length,
    explorer: !!(gd.layout && gd.layout.meta && gd.layout.meta.explorer)}))"""

FIGURE_STATE = """(id) => { const gd = document.getElementById(id);
    const t = gd.layout.title; const title = typeof t === 'string' ? t : (t && t.text) || '';
    const ys = tr => tr.y && tr.y.bdata ? tr.y.bdata : Array.from(tr.y || []).slice(0, 400).join(',');
    return title + '|' + gd.data.map(ys).join(';'); }"""


# Layout checks, run on every page at desktop and phone width (and on a broken fixture page, which must
# fail each of them). Boxes are compared in CSS pixels; 2 px of slack absorbs anti-aliasing.
LAYOUT_PROBLEMS = r"""() => {
  const SLACK = 2, out = [];
  const rect = e => e.getBoundingClientRect();
  const shown = e => { const b = rect(e); const st = getComputedStyle(e);
    return b.width > 0.5 && b.height > 0.5 && st.visibility !== 'hidden' && st.opacity !== '0' && st.display !== 'none'; };
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > SLACK &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > SLACK;
  const name = e => (e.textContent || '').trim().slice(0, 40);
  // 1. In a figure, no two of title, legend, mode bar, axis titles and slider labels overlap, and none
  //    spills out of the figure (clipped text).
  document.querySelectorAll('.plotly-graph-div').forEach(gd => {
    // The figure's box, within the wrapper plotly.io.to_html sizes to the figure's height.
    const own = rect(gd), wrap = rect(gd.parentElement), parts = [];
    const fig = {left: Math.max(own.left, wrap.left), right: Math.min(own.right, wrap.right),
                 top: Math.max(own.top, wrap.top), bottom: Math.min(own.bottom, wrap.bottom)};
    const add = (kind, sel) => gd.querySelectorAll(sel).forEach(e => { if (shown(e) && name(e) !== '' || kind === 'modebar' && shown(e)) parts.push([kind, e]); });
    add('title', '.g-gtitle');
    add('legend', 'g.legend');
    add('modebar', '.modebar-container .modebar');
    add('axis title', '.g-xtitle, .g-ytitle, [class^="g-x"][class$="title"], [class^="g-y"][class$="title"]');
    gd.querySelectorAll('g.slider-group').forEach((g, k) => g.querySelectorAll('text').forEach(t => {
      if (shown(t) && name(t)) parts.push(['slider ' + k + ' label', t]); }));
    const seen = new Set();
    for (let i = 0; i < parts.length; i++) {
      const [kind, e] = parts[i], b = rect(e);
      if (b.left < fig.left - SLACK || b.right > fig.right + SLACK || b.top < fig.top - SLACK || b.bottom > fig.bottom + SLACK)
        out.push(`clipped: ${gd.id} ${kind} "${name(e)}" runs outside the figure`);
      for (let j = i + 1; j < parts.length; j++) {
        const [kind2, e2] = parts[j];
        if (kind === kind2 || e.contains(e2) || e2.contains(e)) continue;
        if (kind.startsWith('slider') && kind2.startsWith('slider') && kind.split(' ')[1] === kind2.split(' ')[1]) continue;
        const key = kind + '|' + kind2;
        if (!seen.has(key) && overlap(b, rect(e2))) { seen.add(key);
          out.push(`overlap: ${gd.id} ${kind} "${name(e)}" and ${kind2} "${name(e2)}"`); }
      }
    }
  });
  const column = document.querySelector('article.bd-article') || document.querySelector('article') || document.body;
  const col = rect(column);
  const scroller = e => { for (let a = e; a && a !== column.parentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === 'auto' || ox === 'scroll') && rect(a).right <= col.right + SLACK && rect(a).left >= col.left - SLACK) return a; }
    return null; };
  // 2. No text clipped by its container: a box that hides its overflow must not hold wider text.
  column.querySelectorAll('p, li, td, th, h1, h2, h3, h4, pre, code, div.output, .admonition, figcaption, dt, dd').forEach(e => {
    const st = getComputedStyle(e);
    if ((st.overflowX === 'hidden' || st.overflowX === 'clip') && e.scrollWidth > e.clientWidth + SLACK && shown(e))
      out.push(`clipped: ${e.tagName.toLowerCase()} "${name(e)}" is ${e.scrollWidth - e.clientWidth}px wider than its box`);
  });
  // 3. No table, output or equation wider than the content column unless it sits in a scrollable box.
  column.querySelectorAll('table, pre, .cell_output, mjx-container[display="true"], .math, img, svg.main-svg').forEach(e => {
    if (!shown(e)) return;
    const b = rect(e);
    if ((b.right > col.right + SLACK || b.left < col.left - SLACK) && !scroller(e))
      out.push(`overflow: ${e.tagName.toLowerCase()}.${(e.className && e.className.baseVal !== undefined ? e.className.baseVal : e.className) || ''} "${name(e)}" is ${Math.round(b.right - col.right)}px wider than the column, with no scroll box`);
  });
  return out;
}"""


def _visit(browser, url: str, width: int, height: int):
    errors: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(500)  # deferred scripts (MathJax) start after load
    return page, errors


def _stem(rel: str) -> str:
    return rel.replace("/", "__").removesuffix(".html")


@pytest.mark.parametrize("path", _pages(), ids=lambda p: str(p.relative_to(SITE)))
def test_page_renders_in_browser(path, server, browser):
    rel = path.relative_to(SITE).as_posix()
    page, errors = _visit(browser, f"{server}/{rel}", 1280, 900)
    try:
        html = path.read_text(encoding="utf-8")
        expected = html.count('class="plotly-graph-div"')
        if expected:
            page.wait_for_function(f"document.querySelectorAll('.plotly-graph-div svg.main-svg').length >= {expected}",
                                   timeout=20_000)
        figures = page.evaluate(FIGURES_DRAWN)
        assert len(figures) == expected, f"{rel}: {expected} figures in the HTML, {len(figures)} in the page"
        for fig in figures:
            assert fig["svg"], f"{rel}: figure {fig['id']} did not draw"
            assert fig["drawnSliders"] == fig["sliders"], f"{rel}: figure {fig['id']} lost its sliders"
        if re.search(r'class="[^"]*\bmath\b', html):
            # "attached": the contents menu holds hidden copies of headings, formulas included.
            page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
            raw = page.evaluate("() => Array.from(document.querySelectorAll('.math')).filter("
                                "e => !e.querySelector('mjx-container') && /\\\\[a-zA-Z]/.test(e.textContent)).length")
            assert raw == 0, f"{rel}: {raw} formulas left untypeset"

        # Every explorer slider changes its figure when moved, with no kernel behind the page.
        for fig in figures:
            if not fig["explorer"]:
                continue
            handle = page.locator(f"#{fig['id']}")
            handle.scroll_into_view_if_needed()
            for k in range(fig["sliders"]):
                before = page.evaluate(FIGURE_STATE, fig["id"])
                rail = handle.locator("rect.slider-rail-touch-rect").nth(k)
                box = rail.bounding_box()
                active = page.evaluate(f"(id) => document.getElementById(id).layout.sliders[{k}].active", fig["id"])
                n_steps = page.evaluate(f"(id) => document.getElementById(id).layout.sliders[{k}].steps.length",
                                        fig["id"])
                target = 0 if active > n_steps / 2 else n_steps - 1
                x = box["x"] + box["width"] * (0.02 + 0.96 * target / (n_steps - 1))
                page.mouse.click(x, box["y"] + box["height"] / 2)
                page.wait_for_timeout(300)
                after = page.evaluate(FIGURE_STATE, fig["id"])
                assert after != before, f"{rel}: moving slider {k} of {fig['id']} did not change the figure"

        if TAKE_SHOTS:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{_stem(rel)}-desktop.png"), full_page=True)
        problems = page.evaluate(LAYOUT_PROBLEMS)
        assert not problems, f"{rel} at desktop width:\n" + "\n".join(problems)
        assert not errors, f"{rel}: console errors:\n" + "\n".join(errors)
    finally:
        page.close()

    phone, phone_errors = _visit(browser, f"{server}/{rel}", 390, 844)
    try:
        html = path.read_text(encoding="utf-8")
        expected = html.count('class="plotly-graph-div"')
        if expected:
            phone.wait_for_function(f"document.querySelectorAll('.plotly-graph-div svg.main-svg').length >= {expected}",
                                    timeout=20_000)
            phone.wait_for_timeout(400)  # figure-fit.js relayouts after the first draw
        if TAKE_SHOTS:
            phone.screenshot(path=str(SHOTS / f"{_stem(rel)}-phone.png"), full_page=True)
        problems = phone.evaluate(LAYOUT_PROBLEMS)
        assert not problems, f"{rel} at phone width:\n" + "\n".join(problems)
        overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 2, f"{rel}: page is {overflow}px wider than a phone screen"
        assert not phone_errors, f"{rel}: console errors at phone width:\n" + "\n".join(phone_errors)
    finally:
        phone.close()


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.images_without_alt: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and not (attrs.get("alt") or "").strip():
            self.images_without_alt.append(attrs.get("src", "?"))


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_internal_links_and_alt_text():
    """Every internal link points at a page that exists and an anchor on it; every image has alt text."""
    _require(SITE.is_dir(), f"{SITE} is missing: run `make site` first")
    broken, no_alt = [], []
    for page in _pages():
        parsed = _parse(page)
        no_alt += [f"{page.relative_to(SITE)}: {src}" for src in parsed.images_without_alt]
        for href in parsed.links:
            url = urlparse(href)
            if url.scheme or href.startswith("mailto:"):
                continue
            target_rel, anchor = urldefrag(href)
            target = (page.parent / unquote(target_rel)).resolve() if target_rel else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)} -> {href}")
            elif anchor and target.suffix == ".html" and anchor not in _parse(target).ids:
                broken.append(f"{page.relative_to(SITE)} -> {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
    assert not no_alt, "images without alt text:\n" + "\n".join(no_alt)


def test_page_weight_budget():
    """Each page stays within 1.5 MB without the shared plotly.min.js (tools/page_weights.py reports them all)."""
    _require(SITE.is_dir(), f"{SITE} is missing: run `make site` first")
    import importlib.util

    spec = importlib.util.spec_from_file_location("page_weights", ROOT / "tools" / "page_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    heavy = [(page, size) for page, size in module.page_weights(SITE) if size > 1.5e6]
    assert not heavy, f"pages over 1.5 MB: {heavy}"


def test_plotly_loads_only_where_a_figure_is():
    """book/_ext/figure_scripts.py: plotly.js and the figure scripts on figure pages, nowhere else."""
    _require(SITE.is_dir(), f"{SITE} is missing: run `make site` first")
    with_figures = without = 0
    for page in _pages():
        html = page.read_text(encoding="utf-8")
        has_figure = 'class="plotly-graph-div"' in html
        loads_plotly = re.search(r'<script[^>]*\bsrc="[^"]*plotly\.min\.js', html) is not None
        assert has_figure == loads_plotly, f"{page.relative_to(SITE)}: figure {has_figure}, plotly.js {loads_plotly}"
        with_figures += has_figure
        without += not has_figure
    assert with_figures >= 13 and without >= 10, (with_figures, without)


def test_no_test_markers_on_the_pages():
    """nbval's cell markers stay in the notebooks: no page shows one (book/_ext/test_markers.py)."""
    _require(SITE.is_dir(), f"{SITE} is missing: run `make site` first")
    shown = [str(p.relative_to(SITE)) for p in _pages() if "NBVAL" in p.read_text(encoding="utf-8")]
    assert not shown, f"pages showing an NBVAL marker: {shown}"


def test_every_public_name_is_in_the_api_reference():
    """Each name of ``scaling_lab.__all__`` has an object description in the built API pages (objects.inv)."""
    _require((SITE / "objects.inv").is_file(), f"{SITE}/objects.inv is missing: run `make site` first")
    import importlib.util

    from sphinx.util.inventory import InventoryFile

    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "book" / "_ext" / "api_pages.py")
    api_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(api_pages)
    with open(SITE / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    objects = {name for kind, entries in inventory.items() if kind.startswith("py:") for name in entries}
    missing = api_pages.missing_names(objects)
    assert not missing, f"public names missing from the API reference: {missing}"
    pages = {name for name, (*_, uri, _title) in inventory.get("std:doc", {}).items()}
    modules = inventory.get("py:module", {})
    absent = [m for m in api_pages.public_modules()
              if m not in modules or modules[m][2].split("#")[0] != f"book/api/{api_pages.page_name(m)}.html"
              or f"book/api/{api_pages.page_name(m)}" not in pages]
    assert not absent, f"modules without a section on their API page: {absent}"
    assert api_pages.missing_names({n for n in objects if not n.endswith(".MMc")}) == ["MMc"]  # the check bites


BROKEN_FIXTURE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><script src="{plotly}"></script></head>
<body style="margin:0"><article class="bd-article" style="width:360px">
<div id="fig-overlap" class="plotly-graph-div" style="width:360px;height:300px"></div>
<p style="width:80px;overflow:hidden;white-space:nowrap">A sentence far too long for its narrow box</p>
<table><tr><td style="white-space:nowrap">a wide printed table row that no box lets the reader scroll, far wider than the column</td></tr></table>
</article><script>
Plotly.newPlot("fig-overlap", [{{y: [1, 3, 2], name: "first series"}}, {{y: [2, 1, 3], name: "second series"}}],
  {{title: {{text: "A title printed under the legend, and far too long for the width of this small figure"}}, showlegend: true, margin: {{t: 60}},
    legend: {{orientation: "h", yref: "container", y: 1, yanchor: "top", x: 0}},
    xaxis: {{title: {{text: "Request rate"}}}}}}, {{displayModeBar: false}});
</script></body></html>"""


def test_layout_checks_fail_on_a_broken_page(browser, tmp_path):
    """Each layout check catches its own defect on a small page built here (not a book page)."""
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    fixture = tmp_path / "broken.html"
    fixture.write_text(BROKEN_FIXTURE.format(plotly=plotly_js.as_uri()), encoding="utf-8")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.goto(fixture.as_uri(), wait_until="load")
        page.wait_for_selector("#fig-overlap svg.main-svg")
        problems = page.evaluate(LAYOUT_PROBLEMS)
    finally:
        page.close()
    text = "\n".join(problems)
    assert re.search(r"overlap: fig-overlap (title|legend) .* and (legend|title)", text), text
    assert re.search(r'clipped: p "A sentence', text), text
    assert "clipped: fig-overlap title" in text, text
    assert re.search(r"overflow: (table|td)", text) or "overflow: table" in text, text
