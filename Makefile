# Every target sets up .venv first (once). TORCH pins the CPU build that lies on
# this project's machines; elsewhere override it, e.g. `make test TORCH=torch`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: venv test unit nbval lab figures bench notebooks clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## unit tests, then nbval over every notebook
test: $(STAMP)
	$(PY) -m pytest -q tests $(NBVAL) notebooks

unit: $(STAMP)
	$(PY) -m pytest -q tests

nbval: $(STAMP)
	$(PY) -m pytest -q $(NBVAL) notebooks

## JupyterLab on the notebooks
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

## regenerate figures/*.png from the library
figures: $(STAMP)
	$(PY) figures/make_figures.py

## timing benchmarks (ratios measured side by side in one run)
bench: $(STAMP)
	$(PY) benchmarks/concrete_ops.py

## re-run every notebook top to bottom and store its outputs (maintainers)
notebooks: $(STAMP)
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=1200 --ExecutePreprocessor.record_timing=False \
	  notebooks/0*.ipynb

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
