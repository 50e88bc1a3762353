# Thin wrapper: the work is done by lib/ (see README.md). Variables: DATASET, DATA_DIR, PARAMS, PYTHON.
# PARAMS passes notebook parameters, e.g. PARAMS="-p SAMPLE_ROWS 20000 -p N_SEEDS 1".
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATASET ?= iot23
DATA_DIR ?=
PARAMS ?=

.PHONY: setup reproduce test test-unit test-data test-smoke lint data lab bench clean-cache

setup: $(VENV)/.installed

# the pinned packages, then lib itself as an editable package (notebooks import it from anywhere)
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

## reproduce: set up, get the data, run every notebook in order for DATASET (default iot23)
reproduce: setup
	$(BIN)/python -m lib.runner --dataset $(DATASET) $(if $(DATA_DIR),-p DATA_DIR $(DATA_DIR)) $(PARAMS)

## test: lint, then all three test tiers: unit, data (needs the mirror: IOT_BOTNET_DATA_DIR), smoke (notebooks)
test: setup lint
	$(BIN)/python -m pytest

## test-unit: the fast tier for the edit-test loop (no mirror, no notebook; seconds)
test-unit: setup
	$(BIN)/python -m pytest -m unit

test-data: setup
	$(BIN)/python -m pytest -m data

test-smoke: setup
	$(BIN)/python -m pytest -m smoke

lint: setup
	$(BIN)/ruff check lib tests notebooks benchmarks
	$(BIN)/ruff format --check lib tests notebooks benchmarks

## data: download the IoT-23 scenarios of the registry into data/ (sha256 checked)
data: setup
	$(BIN)/python -c "from lib import datasets; datasets.fetch('iot23', '$(DATA_DIR)' or None)"

## bench: the four benchmarks at a size for this machine (figures in benchmarks/README.md)
bench: setup
	$(BIN)/python benchmarks/run_all.py --quick

lab: setup
	$(BIN)/jupyter lab notebooks/

clean-cache:
	rm -rf data/cache
