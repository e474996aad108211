# The two commands a newcomer runs: `make demo` and `make test`. Each installs what it needs.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint services clean chromium

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

services:
	@bash scripts/services.sh

demo: $(STAMP)
	$(BIN)/pertinent demo --workspace demo-workspace

test: $(STAMP) services chromium
	$(BIN)/pytest

# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)

bench: $(STAMP) services
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null  # HTTP load for bench/recommend.py
	$(BIN)/python bench/ingest.py --quick
	$(BIN)/python bench/latency.py --quick
	$(BIN)/python bench/recommend.py --quick
	$(BIN)/python bench/experiments.py --quick
	$(BIN)/python bench/segments.py --quick
	$(BIN)/python bench/journeys.py --quick
	$(BIN)/python bench/render.py --quick
	$(BIN)/python bench/smtp.py --quick
	$(BIN)/python bench/dashboard.py --quick

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-workspace
