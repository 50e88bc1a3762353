# Thin wrapper: the work is done by lib/ (see README.md). Variables: DATASET, DATA_DIR, NAME, PROFILE, PARAMS,
# PYTHON, GPU (make setup GPU=1: TensorFlow's CUDA build instead of the CPU one).
# DATA_DIR and NAME reach Python as one argument each, whatever they hold (spaces, quotes, apostrophes):
# make reproduce DATA_DIR="/data/my flows" NAME="first try".
# PARAMS passes notebook parameters, e.g. PARAMS="-p SAMPLE_ROWS 20000 -p N_SEEDS 1"; PROFILE=quick|paper|full
# picks a profile of notebooks/params/profiles.yaml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed$(if $(GPU),-gpu)
DATASET ?= iot23
DATA_DIR ?=
NAME ?=
PARAMS ?=
PROFILE ?=
OUT ?= dist
# test processes of `make test` (pytest-xdist; each test file runs whole in one of them, its fixtures once)
JOBS ?= 2
SUBMISSION ?=

# $(call quote,TEXT): TEXT as one single-quoted shell word (an apostrophe inside becomes '\'')
quote = '$(subst ','\'',$(1))'

.PHONY: setup reproduce verify test test-unit test-data test-smoke test-browser lab-screenshot lint data lab bench clean-cache \
	assignments grade

setup: $(STAMP)

# the pinned packages, then lib itself as an editable package (notebooks import it from anywhere).
# GPU=1 swaps the CPU build of TensorFlow for the CUDA one of the same version (an NVIDIA GPU and driver needed).
TF_VERSION := $(shell sed -n 's/^tensorflow-cpu==//p' requirements.txt)
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(if $(GPU),$(BIN)/pip uninstall --quiet --yes tensorflow-cpu)
	$(if $(GPU),$(BIN)/pip install --quiet "tensorflow[and-cuda]==$(TF_VERSION)")
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed $(VENV)/.installed-gpu
	touch $@

## reproduce: set up, get the data, run every notebook in order for DATASET (default iot23)
reproduce: setup
	$(BIN)/python -m lib.runner --dataset $(call quote,$(DATASET)) $(if $(DATA_DIR),-p DATA_DIR $(call quote,$(DATA_DIR))) $(if $(NAME),-p NAME $(call quote,$(NAME))) $(if $(PROFILE),--profile $(call quote,$(PROFILE))) $(PARAMS)

## verify: rerun notebooks 01-03 of DATASET's main run into a fresh runs/verify-<DATASET>-<time>/, then compare its
## Table 1 with the committed figures/<DATASET>/ within lib/verify.py's tolerances (exit status 1 if a cell is outside)
verify: setup
	$(BIN)/python -m lib.verify --dataset $(call quote,$(DATASET)) $(if $(DATA_DIR),-p DATA_DIR $(call quote,$(DATA_DIR))) $(PARAMS)

## test: lint, then every test tier: unit, data (needs the mirror: IOT_BOTNET_DATA_DIR), smoke (notebooks), browser
test: setup lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder

## test-unit: the fast tier for the edit-test loop (no mirror, no notebook; seconds)
test-unit: setup
	$(BIN)/python -m pytest -m unit

test-data: setup
	$(BIN)/python -m pytest -m data

test-smoke: setup
	$(BIN)/python -m pytest -m smoke

## test-browser: notebook 01 in JupyterLab as `make lab` serves it, run in headless Chromium (Debian's chromium)
test-browser: setup
	$(BIN)/python -m pytest -m browser

## lab-screenshot: the browser test, keeping its screenshot of the executed notebook 01
lab-screenshot: setup
	LAB_SCREENSHOT=figures/jupyterlab/notebook_01.png $(BIN)/python -m pytest tests/test_browser.py

lint: setup
	$(BIN)/ruff check lib tests notebooks benchmarks
	$(BIN)/ruff format --check lib tests notebooks benchmarks

# what `make data` runs: the folder comes from the environment, never pasted into Python source
FETCH = import logging, os; logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"); \
	from lib import datasets; datasets.fetch(os.environ["DATASET"], os.environ["DATA_DIR"] or None)

## data: download the registry's files of DATASET (IoT-23: its scenarios) into DATA_DIR, default data/ (sha256 checked)
data: setup
	DATASET=$(call quote,$(DATASET)) DATA_DIR=$(call quote,$(DATA_DIR)) $(BIN)/python -c $(call quote,$(FETCH))

## bench: the seven CPU benchmarks at a size for this machine, then the generated block of benchmarks/README.md
bench: setup
	$(BIN)/python benchmarks/run_all.py --quick

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

## assignments: the exercises of notebooks/exercises/ as OUT/student/ (no solutions), OUT/solution/, OUT/autograder/
assignments: setup
	$(BIN)/python -m lib.coursework assign --out $(call quote,$(OUT))

## grade: grade one notebook with its exercise checks, public and hidden, locally; prints its score as N / M
grade: setup
	$(if $(SUBMISSION),,$(error give the notebook to grade: make grade OUT=dist SUBMISSION=path/to/notebook.ipynb))
	$(BIN)/python -m lib.coursework grade --out $(call quote,$(OUT)) $(call quote,$(SUBMISSION))

clean-cache:
	rm -rf data/cache
