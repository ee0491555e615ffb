# scaling-lab: `make book` builds the website, `make test` runs every test. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed-stamp
PLOTLY_JS := book/_static/plotly.min.js
MATHJAX := book/_static/mathjax/tex-chtml.js

.PHONY: help venv book site test unit browser-deps lab bench strip clean

help:
	@echo "make book   set up .venv and build the website into _build/html"
	@echo "make test   set up .venv, build the website (warnings are errors) and run every test"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make bench  run the benchmarks (installs the optional 'bench' extra)"
	@echo "make strip  drop stored outputs except those nbval checks"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# plotly.js comes from the installed plotly package (same version as the Python side), never from a CDN.
$(PLOTLY_JS): $(STAMP)
	cp "$$($(BIN)/python -c 'import plotly, os; print(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"))')" $@

# MathJax 3 comes from a pinned PyPI package that ships its files; the site never loads it from a CDN.
$(MATHJAX): $(STAMP)
	rm -rf book/_static/mathjax
	cp -r "$$($(BIN)/python -c 'import mathjax, os; print(os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5"))')" book/_static/mathjax

# Notebooks are executed first on every core into the build's execution cache (jupyter-cache),
# then the book build reuses those outputs; a notebook that failed here is re-run by the build,
# which reports its traceback.
JCACHE := _build/.jupyter_cache
site: venv $(PLOTLY_JS) $(MATHJAX)
	@mkdir -p _build
	@yes | SCALING_LAB_STATIC=1 $(BIN)/jcache notebook -p $(JCACHE) add notebooks/*.ipynb >/dev/null
	SCALING_LAB_STATIC=1 $(BIN)/jcache project -p $(JCACHE) execute --executor local-parallel --timeout 300
	SCALING_LAB_STATIC=1 $(BIN)/jupyter-book build -W -n --keep-going .
	@$(BIN)/python tools/page_weights.py _build/html

book: site
	@echo
	@echo "The book is built: open file://$(abspath _build/html/index.html)"

# Headless Chromium for the browser test (Debian package; needs root, as in CI).
browser-deps:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "Could not install chromium: the browser test will say so"; \
	else echo "chromium is not installed and cannot be installed here: the browser test will be skipped"; fi

test: site browser-deps
	$(BIN)/python -m pytest -n auto --dist loadfile --nbval-lax --nbval-sanitize-with tests/sanitize.cfg tests notebooks

unit: venv
	$(BIN)/python -m pytest tests -m "not browser" -q

lab: venv
	$(BIN)/jupyter lab notebooks/

bench: venv
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

strip: venv
	$(BIN)/python tools/notebooks.py strip notebooks/*.ipynb

clean:
	rm -rf _build $(PLOTLY_JS) book/_static/mathjax
