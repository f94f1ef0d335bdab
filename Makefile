# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench browser pdf screenshots deck-screenshots spark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m alignscan.demo

# `make test`: everything, on every core (pytest-xdist). `make test-fast`: a verdict in under a
# minute: in-process tests only (a test that starts a process is skipped there, see
# tests/conftest.py) and not the `slow` or `heavy` ones. pytest's exit 5 (no tests) is a pass.
# `--dist loadfile`: a file's tests run on one worker, so its module fixtures are built once.
PYTEST_OK = rc=$$?; if [ $$rc -eq 5 ]; then echo 'no tests collected'; exit 0; fi; exit $$rc
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile; $(PYTEST_OK)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist loadfile --fast -m "not slow and not heavy" -p no:cacheprovider; $(PYTEST_OK)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# BENCH_ROWS scales the 10,000,000-row benchmark down, e.g. `make bench BENCH_ROWS=200000`.
BENCH_ROWS ?= 10000000
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_privacy.py
	$(BIN)/python benchmarks/bench_drivers.py
	$(BIN)/python benchmarks/bench_office.py
	$(BIN)/python benchmarks/bench_scale.py --rows $(BENCH_ROWS)

# Headless Chromium, poppler's pdftotext and the npm packages (axe-core, puppeteer-core,
# driving the system Chromium: no browser download) for the report's browser tests
# (skipped, with their reason, without them).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed and can't be installed here; the browser tests will be skipped"
	@command -v pdftotext >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; } || \
	  echo "pdftotext is not installed and can't be installed here; the print test will be skipped"
	@command -v npm >/dev/null 2>&1 && (cd tests/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent) || \
	  echo "npm is missing or the install failed; the print and axe-core tests will be skipped"

# Screenshots of the demo report for the README: page 1 on screen and page 1 of the print.
screenshots: browser
	$(BIN)/python -m alignscan.demo >/dev/null
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1500 \
	  --screenshot=docs/report-screenshot.png reports/demo/report.html
	node tests/browser/print.mjs "$$(command -v chromium)" "$$PWD/reports/demo/report.html" reports/demo/report.pdf A4
	pdftoppm -png -r 80 -f 1 -l 1 -singlefile reports/demo/report.pdf docs/report-print

# Three slides of the demo deck for the README: deck -> PDF (LibreOffice) -> PNG (poppler).
deck-screenshots: $(STAMP)
	$(BIN)/python -m alignscan.demo >/dev/null
	$(BIN)/alignscan analyze reports/demo/responses.csv --baseline reports/demo/responses-q1.csv \
	  --out reports/demo --date 2026-04-15 --pptx reports/demo/deck.pptx >/dev/null
	HOME="$$PWD/reports/demo" soffice --headless --convert-to pdf --outdir reports/demo reports/demo/deck.pptx >/dev/null
	pdftoppm -png -r 80 -f 2 -l 2 -singlefile reports/demo/deck.pdf docs/deck-summary
	pdftoppm -png -r 80 -f 3 -l 3 -singlefile reports/demo/deck.pdf docs/deck-dimensions
	pdftoppm -png -r 80 -f 5 -l 5 -singlefile reports/demo/deck.pdf docs/deck-heatmap

# WeasyPrint for `--pdf` and its test: the `pdf` extra into the venv, and its system
# libraries (Pango, HarfBuzz, fontconfig) through apt when they are missing and we can.
pdf: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,pdf]"
	@ldconfig -p 2>/dev/null | grep -q libpango-1.0 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1 fonts-dejavu-core >/dev/null; } || \
	  echo "Pango is not installed and can't be installed here; the PDF test will fail in CI"

# `--engine spark` and its test: the `spark` extra (pyspark) into the venv, and a Java
# runtime from the system packages when `java` is missing and we can (root + apt-get).
# `make test` does not need it: tests/test_spark.py is skipped, with its reason, without.
spark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	@command -v java >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; } || \
	  echo "java is not installed and can't be installed here (needs root and apt-get): install a JRE (17+) for the Spark test"

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
