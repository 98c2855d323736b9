# Two commands for a newcomer: `make run` (app on demo data) and `make test` (all tests).
PY      := .venv/bin/python
DATA    ?= data
PORT    ?= 8501
LEAFLET := 1.9.4
CLUSTER := 1.5.3
# plotly.js of the Python package plotly (7.1.0 embeds 4.1.1: same figure schema), its basic bundle
PLOTLY  := 4.1.1

.PHONY: run test lint setup system venv vendor demo lock bench

run: setup demo
	.venv/bin/python -m junheng.tools.serve --server.port $(PORT)

# The tests in parallel, a file per worker at a time (a file's servers and browser stay in one process): one worker
# per core this process may use, at most 4 (each holds its own demo data, servers and Chromium); on one core, and
# with JOBS=0, in this process in order.
JOBS ?= $(shell python3 -c 'import os; n = len(os.sched_getaffinity(0)); print(min(4, n) if n > 1 else 0)' 2>/dev/null || echo 0)
test: setup
	$(PY) -m pytest -q -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

# Ruff (lint and import order) and the layers contract of pyproject.toml ([tool.importlinter]); both report
# before either fails the target.
lint: setup
	@status=0; .venv/bin/ruff check || status=1; .venv/bin/lint-imports || status=1; exit $$status

setup: system venv vendor

# Debian packages for the browser test and CJK fonts in screenshots and exports; PostgreSQL and nginx for the
# scale-out tests (tests/pg.py, tests/test_scale.py start their own servers; nothing is configured system-wide);
# poppler-utils (pdftotext, pdftoppm) for the report tests.
SYSTEM_PACKAGES := chromium fonts-noto-cjk postgresql nginx poppler-utils
system:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK" \
	    || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null \
	    || ! command -v pdftotext >/dev/null; then \
	  echo "installing Debian packages $(SYSTEM_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi
	@# LibreOffice Impress (no GUI, ~35 s) renders the county deck to PDF in tests/test_report.py, as a projector would show it.
	@if ! command -v soffice >/dev/null; then \
	  echo "installing Debian package libreoffice-impress-nogui"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    libreoffice-impress-nogui >/dev/null; \
	fi

venv: .venv/.stamp-deps

.venv/.stamp-deps: requirements.lock pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .  # with the locked setuptools, offline
	touch $@

# Leaflet and plotly.js are served by the app itself (static/), so maps and charts draw with no internet access.
vendor: static/vendor/.stamp-$(LEAFLET)-$(CLUSTER)-$(PLOTLY)

static/vendor/.stamp-$(LEAFLET)-$(CLUSTER)-$(PLOTLY):
	bash scripts/vendor_assets.sh $(LEAFLET) $(CLUSTER) $(PLOTLY)
	ln -sfn ../static pages/static  # a page run on its own serves the same files
	touch $@

demo: setup
	@if [ ! -d "$(DATA)/snapshots" ]; then .venv/bin/junheng demo --scope demo --data-dir $(DATA); fi

# --all keeps setuptools (the locked build backend); pip itself is the venv's own.
lock:
	$(PY) -m pip freeze --all --exclude-editable | grep -v -e '^junheng' -e '^pip==' > requirements.lock

# The national benchmark: 3.9 million school-year rows (about 1.5 minutes to generate), report in docs/.
NATIONAL ?= data-national
bench: setup
	@if [ ! -d "$(NATIONAL)/snapshots" ]; then .venv/bin/junheng demo --scope national --data-dir $(NATIONAL); fi
	.venv/bin/junheng bench --data-dir $(NATIONAL) --json $(NATIONAL)/bench.json --report docs/benchmarks.md
