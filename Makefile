# Thin wrapper: the work is done by lib/ (see README.md). Variables: DATASET, DATA_DIR, PARAMS, PYTHON.
# PARAMS passes notebook parameters, e.g. PARAMS="-p SAMPLE_ROWS 20000 -p N_SEEDS 1".
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATASET ?= iot23
DATA_DIR ?=
PARAMS ?=

.PHONY: setup reproduce test lint data lab bench clean-cache

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

## reproduce: set up, get the data, run every notebook in order for DATASET (default iot23)
reproduce: setup
	$(BIN)/python -m lib.runner --dataset $(DATASET) $(if $(DATA_DIR),-p DATA_DIR $(DATA_DIR)) $(PARAMS)

## test: lint, then the whole test suite (real-data tests need the mirror: IOT_BOTNET_DATA_DIR)
test: setup lint
	$(BIN)/python -m pytest

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
