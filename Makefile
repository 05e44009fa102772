# stagectl — `make run` opens the app on the demo stage; `make test` runs the whole suite headless.
# Both create .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test lint bench screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

# Opens the window on the built-in demo stage. Without a display it says so and runs headless.
run: $(STAMP_RUN)
	-@$(BIN)/python scripts/qt_deps.py --fix
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ -n "$$QT_QPA_PLATFORM" ]; then \
		$(BIN)/python main.py $(ARGS); \
	else \
		echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset): running the demo stage headless"; \
		echo "          (Ctrl+C stops; under Xvfb: xvfb-run make run)"; \
		$(BIN)/python main.py run --headless --status-json $(ARGS); \
	fi

test: $(STAMP_TEST)
	@command -v oscdump >/dev/null 2>&1 || { echo "make test: liblo's oscdump is needed (the tests' independent OSC decoder):" \
		"install liblo-tools (apt-get install liblo-tools; .ci/run does it)"; exit 2; }
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "make test:" \
		"PostgreSQL's server is needed (the facility store's tests start their own):" \
		"install postgresql (apt-get install postgresql; .ci/run does it)"; exit 2; }
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { echo "make test:" \
		"Chromium and its WebDriver are needed (the web remote's pages are tested in a real browser):" \
		"install chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does it)"; \
		exit 2; }
	-@QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/qt_deps.py --fix
	$(BIN)/ruff check .
	$(BIN)/mypy
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark, each run through bench/_record.py, which also keeps its figures as JSON in
# bench/results/<script>.json (CPU model, load average, commit, date; docs/BENCHMARKS.md quotes them).
RECORD := $(BIN)/python bench/_record.py

bench: $(STAMP_TEST)
	$(RECORD) freed_ingest bench/freed_ingest.py --json
	$(RECORD) stop_latency bench/stop_latency.py --window --json
	$(RECORD) idle bench/idle.py --parts --json
	$(RECORD) tracking_pipeline:burst bench/tracking_pipeline.py --json
	$(RECORD) tracking_pipeline:spread bench/tracking_pipeline.py --spread --json
	$(RECORD) tracking_pipeline:outputs bench/tracking_pipeline.py --duration 10 --outputs --json
	$(RECORD) tracking_pipeline:outputs_spread bench/tracking_pipeline.py --duration 10 --outputs --spread --json
	$(RECORD) tracking_pipeline:opentrackio bench/tracking_pipeline.py --duration 10 --opentrackio --floor --json
	$(RECORD) opentrackio_relay bench/opentrackio_relay.py --json
	$(RECORD) fuzz_tracking bench/fuzz_tracking.py
	$(RECORD) lens_solve bench/lens_solve.py
	$(RECORD) take_crash bench/take_crash.py --runs 3 --json
	$(RECORD) takes bench/takes.py --json
	$(RECORD) hostile_flood:tracking bench/hostile_flood.py --json
	$(RECORD) hostile_flood:control bench/hostile_flood.py --target control --json
	$(RECORD) conform bench/conform.py --json
	$(RECORD) delay bench/delay.py
	$(RECORD) facility bench/facility.py --json
	$(RECORD) web_load bench/web_load.py --json
	$(RECORD) web_load:loop bench/web_load.py --loop --json
	$(RECORD) gui_frame bench/gui_frame.py --json

# Grabs the README's pictures of the demo stage into docs/ (offscreen 1920x1080 screen, fresh layout,
# temporary data folder).
screenshot: $(STAMP_RUN)
	$(BIN)/python scripts/screenshots.py docs
	$(BIN)/python scripts/web_screenshots.py docs

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
