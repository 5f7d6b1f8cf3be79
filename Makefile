# One entry point for developers. Needs only python3.11, git and make: the first target that
# needs the environment builds it (a private copy of uv, then the locked dependencies).
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := UV_PYTHON_DOWNLOADS=never $(UV) run --locked --python $(PYTHON)
DEMO_DIR ?= demo-force

.PHONY: install test lint typecheck unit demo bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	UV_PYTHON_DOWNLOADS=never $(UV) sync --locked --python $(PYTHON)
	touch $@

install: $(VENV)/.synced

lint: install
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench

typecheck: install
	$(RUN) mypy

unit: install
	$(RUN) pytest -q -n auto --dist loadgroup

test: lint typecheck unit

demo: install
	rm -rf $(DEMO_DIR)
	$(RUN) custodes synth --out $(DEMO_DIR)/bundle --workforce 300 --days 14 --seed 7
	$(RUN) custodes ingest $(DEMO_DIR)/bundle --home $(DEMO_DIR)/home
	$(RUN) custodes ledger keygen --name demo.example/custodes --out $(DEMO_DIR)/log.key > $(DEMO_DIR)/log.vkey
	$(RUN) custodes ledger checkpoint --home $(DEMO_DIR)/home --key $(DEMO_DIR)/log.key
	@echo "--- a next-day delta: 3 events already sent, 2 broken rows, 1 new event ---"
	mkdir -p $(DEMO_DIR)/delta
	head -4 $(DEMO_DIR)/bundle/access_events.csv > $(DEMO_DIR)/delta/access_events.csv
	echo 'E-DEMO-1,2026-01-19 09:00:00,P000001,consult,PNC,,,,,,,' >> $(DEMO_DIR)/delta/access_events.csv
	echo 'E-DEMO-2,2026-01-19T09:01:00Z,P000001,peek,PNC,,,,,,,' >> $(DEMO_DIR)/delta/access_events.csv
	echo 'E-DEMO-3,2026-01-19T09:02:00Z,P000001,consult,PNC,,,,,,,' >> $(DEMO_DIR)/delta/access_events.csv
	$(RUN) custodes ingest $(DEMO_DIR)/delta --home $(DEMO_DIR)/home
	$(RUN) custodes quarantine --home $(DEMO_DIR)/home
	$(RUN) custodes ledger checkpoint --home $(DEMO_DIR)/home --key $(DEMO_DIR)/log.key
	@echo "--- a receipt for the new event, checked with nothing but the log's public key ---"
	$(RUN) custodes ledger prove --home $(DEMO_DIR)/home --event E-DEMO-3 > $(DEMO_DIR)/receipt.json
	$(RUN) custodes ledger verify-proof $(DEMO_DIR)/receipt.json --vkey $(DEMO_DIR)/log.vkey
	$(RUN) custodes ledger verify --home $(DEMO_DIR)/home
	$(RUN) custodes status --home $(DEMO_DIR)/home
	@echo "--- link, explain and detect: the top alerts, then scored against the ground truth ---"
	$(RUN) custodes detect --home $(DEMO_DIR)/home
	$(RUN) custodes evaluate --home $(DEMO_DIR)/home --truth $(DEMO_DIR)/bundle/truth
	@echo "--- the web application on the demo force (Ctrl-C to stop) ---"
	$(RUN) python scripts/demo_serve.py --home $(DEMO_DIR)/home

bench: install
	$(RUN) python bench/run.py

clean:
	rm -rf $(VENV) $(TOOLS) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
