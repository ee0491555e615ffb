# scaling-lab: `make book` builds the website, `make test` runs every test. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed-stamp
PLOTLY_JS := book/_static/plotly.min.js
MATHJAX := book/_static/mathjax/tex-chtml.js

.PHONY: help venv book site test unit browser-deps lab-deps dask-deps experiments lab bench strip clean

help:
	@echo "make book   set up .venv and build the website into _build/html"
	@echo "make test   set up .venv, build the website (warnings are errors) and run every test"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make bench  run the benchmarks (installs the optional 'bench' extra)"
	@echo "make experiments  run the lab experiments on real servers and record them in data/lab/"
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

# tools/build_site.py executes, one kernel per core, the chapters whose notebook or whose files read
# while running (scaling_lab modules, data) changed since they were cached (jupyter-cache), then runs
# `jupyter-book build -W -n --keep-going .` unless nothing the site is built from changed. A code change
# in scaling_lab re-executes the chapters that use it: `make clean` is never needed for that.
site: venv $(PLOTLY_JS) $(MATHJAX)
	SCALING_LAB_STATIC=1 $(BIN)/python tools/build_site.py
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

# The lab's real components (Debian packages; needs root, as in CI). PostgreSQL's binaries live in
# /usr/lib/postgresql/<version>/bin; the lab runs its own servers on free ports, never the packaged service.
lab-deps:
	@missing=""; command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	  || echo "Could not install$$missing: the lab tests will say so"; \
	else echo "Missing$$missing and cannot install here: the lab tests will be skipped (under CI=true they fail)"; fi
	@id postgres >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres

# The lab tests start real servers: they run after the others, one at a time (they measure latency).
test: site browser-deps lab-deps dask-deps
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=15 --nbval-lax --nbval-sanitize-with tests/sanitize.cfg -m "not lab" tests notebooks
	$(BIN)/python -m pytest -m lab tests -q --durations=10

# Run every lab experiment's full version on this machine and record it under data/lab/ (minutes).
experiments: venv lab-deps
	$(BIN)/python -m scaling_lab lab run all

unit: venv
	$(BIN)/python -m pytest tests -m "not browser" -q

# The optional 'dask' extra, for the test that runs replications on a Dask LocalCluster.
DASK_STAMP := $(VENV)/.dask-stamp
$(DASK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-build-isolation -e ".[dask]"
	touch $(DASK_STAMP)

dask-deps: $(DASK_STAMP)

# JupyterLab opens a browser tab; as root (a container) it needs --allow-root.
lab: venv
	$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

bench: venv
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

strip: venv
	$(BIN)/python tools/notebooks.py strip notebooks/*.ipynb

clean:
	rm -rf _build $(PLOTLY_JS) book/_static/mathjax
