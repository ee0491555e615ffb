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
    return title + '|' + gd.data.map(tr => Array.from(tr.y || []).slice(0, 400).join(',')).join(';'); }"""


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

        SHOTS.mkdir(parents=True, exist_ok=True)
        stem = rel.replace("/", "__").removesuffix(".html")
        page.screenshot(path=str(SHOTS / f"{stem}-desktop.png"), full_page=True)
        assert not errors, f"{rel}: console errors:\n" + "\n".join(errors)
    finally:
        page.close()

    phone, phone_errors = _visit(browser, f"{server}/{rel}", 390, 844)
    try:
        stem = rel.replace("/", "__").removesuffix(".html")
        phone.screenshot(path=str(SHOTS / f"{stem}-phone.png"), full_page=True)
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
    absent = [m for m in api_pages.public_modules() if f"book/api/{m}" not in pages]
    assert not absent, f"modules without an API page: {absent}"
    assert api_pages.missing_names({n for n in objects if not n.endswith(".MMc")}) == ["MMc"]  # the check bites
