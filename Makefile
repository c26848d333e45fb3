# The two commands a fresh machine needs (README Quickstart): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo engine-demo test lint bench lock fuzz clean

# Every library and tool at the version uv.lock pins (hashes checked), so a release of ruff,
# mypy or pytest cannot turn CI red without a commit; then juggler itself, editable.
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# An editable install compiles nothing, unlike a wheel's; where the environment sets
	# PYTHONDONTWRITEBYTECODE, every run would compile juggler's modules again (0.1 s).
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

# Triage the bundled failing logs offline: memo in three formats, HTML timeline, local KB.
DEMO := demo-out
demo: $(STAMP)
	@mkdir -p $(DEMO)
	@rm -f $(DEMO)/kb.sqlite3 $(DEMO)/kb.sqlite3-wal $(DEMO)/kb.sqlite3-shm
	$(BIN)/juggler kb --kb $(DEMO)/kb.sqlite3 import --replace examples/kb.json
	@# An earlier run of the same failure, triaged and remembered with its fix (--learn):
	$(BIN)/juggler triage examples/pytest-gha.log --kb $(DEMO)/kb.sqlite3 --project demo/shop \
		--learn --cause "price sent as a JSON string; strict float field rejects it" \
		--fix "declare ItemUpdate.price as Decimal" --quiet > /dev/null
	$(BIN)/juggler triage examples/pytest-gha.log --baseline examples/pytest-gha.baseline.log \
		--kb $(DEMO)/kb.sqlite3 --project demo/shop --out-dir $(DEMO) --trace $(DEMO)/timeline.html
	$(BIN)/juggler triage examples/maven-compile.log examples/npm-jest.log \
		--kb $(DEMO)/kb.sqlite3 --project demo/shop --out-dir $(DEMO)/second \
		--trace $(DEMO)/second/timeline.html --quiet > /dev/null
	@echo
	@echo "memo:     $(DEMO)/memo.md  $(DEMO)/memo.html  $(DEMO)/memo.json"
	@echo "timeline: $(DEMO)/timeline.html (open it in a browser; no network needed)"
	@echo "more:     $(DEMO)/second/ (a Maven and a jest failure triaged together)"

# The engine on its own: an aio -> cpu -> io pipeline and its report.
engine-demo: $(STAMP)
	$(BIN)/juggler demo --trace engine-demo.html

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/bench.txt
	$(BIN)/python bench/engine.py

# After editing dependencies in pyproject.toml: re-resolve uv.lock and export what pip installs
# (the dev group plus every published extra, so CI tests them all; the bench group).
EXPORT := $(BIN)/uv export --frozen --quiet --no-emit-project --all-extras --no-default-groups
lock: $(STAMP)
	$(BIN)/uv lock
	$(EXPORT) --group dev --format requirements-txt -o requirements/dev.txt
	$(EXPORT) --group bench --format requirements-txt -o requirements/bench.txt

# Coverage-guided fuzzing of the gz, zip, JUnit and plain readers and of the F1 properties
# (RELIABILITY.md F2/F3): FUZZ_SECONDS per target, seeds written by tests/fuzz/seeds.py.
FUZZ_SECONDS ?= 600
FUZZ_DIR ?= fuzz-out
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.seeds $(FUZZ_DIR)/seeds
	@for t in gz zip junit plain properties; do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes/$$t; \
		seeds=$(FUZZ_DIR)/seeds/$$t; [ -d $$seeds ] || seeds=; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(BIN)/python -m tests.fuzz.fuzz_$$t $(FUZZ_DIR)/corpus/$$t $$seeds \
			-max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=5 \
			-artifact_prefix=$(FUZZ_DIR)/crashes/$$t/ -print_final_stats=1 || exit 1; \
	done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache $(DEMO) engine-demo.html fuzz-out
