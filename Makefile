# Every target sets up .venv first (once). TORCH pins the CPU build that lies on
# this project's machines; elsewhere override it, e.g. `make test TORCH=torch`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# OpenMP threads waiting for a core that another process holds should sleep, not spin: on
# a 2-core machine shared with one busy process spinning made a FIDO fit several times
# slower (benchmarks/fido_speed.py --cause). Every target and the kernels it starts inherit it.
export OMP_WAIT_POLICY ?= PASSIVE
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# pytest workers (pytest-xdist); --dist loadfile keeps a notebook's cells, and a test file's
# tests, in one worker. On the 2-core development machine two workers took `make test` from
# 6 min 14 s to 3 min 56 s (one run each). TEST_JOBS=0 runs everything in one process.
TEST_JOBS ?= 2
XDIST = -n $(TEST_JOBS) --dist loadfile

.PHONY: venv lint test test-slow unit nbval nbval-portable lab figures bench notebook-times notebooks clean badges assignments fork browser-test book book-test

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## ruff (configured in pyproject.toml): library, tests, benchmarks, figures script
lint: $(STAMP)
	$(VENV)/bin/ruff check .

## unit tests, then nbval over every notebook
test: $(STAMP)
	$(PY) -m pytest -q $(XDIST) tests $(NBVAL) notebooks

unit: $(STAMP)
	$(PY) -m pytest -q tests

## the tests marked slow (every student notebook run again up to its first exercise, ~3 min)
test-slow: $(STAMP)
	$(PY) -m pytest -q $(XDIST) -m slow tests

nbval: $(STAMP)
	$(PY) -m pytest -q $(NBVAL) notebooks

## nbval with another kernel set and thread count than the ones that wrote the stored outputs
## (the CPU's own vector kernels, 2 threads): a checked output may not depend on them. numpy
## runs on its baseline code too (every runtime-dispatched SIMD target off), so the cells that
## print float64 arithmetic on stored numbers are checked under another vector width as well.
NPY_DISPATCH = $(shell $(PY) -c "import numpy as n; m = getattr(n, '_core', None) or n.core; print(' '.join(m._multiarray_umath.__cpu_dispatch__))" 2>/dev/null)
nbval-portable: $(STAMP)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 NPY_DISABLE_CPU_FEATURES="$(NPY_DISPATCH)" \
	  $(PY) -m pytest -q $(XDIST) $(NBVAL) notebooks

## JupyterLab on the notebooks
# root (a container, this project's machines) must say --allow-root, or JupyterLab refuses to start
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/

## regenerate figures/*.png from the library
figures: $(STAMP)
	$(PY) figures/make_figures.py

## timing benchmarks (ratios measured side by side in one run)
bench: $(STAMP)
	$(PY) benchmarks/concrete_ops.py
	$(PY) benchmarks/fido_speed.py

## each notebook's run time in a fresh kernel (the README's run-time column; outputs not stored)
notebook-times: $(STAMP)
	$(PY) benchmarks/notebook_times.py

## re-run every notebook top to bottom and store its outputs (maintainers)
notebooks: $(STAMP)
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.timeout=1200 --ExecutePreprocessor.record_timing=False \
	  notebooks/0*.ipynb

## course: launch badges + Colab install cells, student notebooks, forks, browser test
## (the repository they point at lives in course.toml; see fido_lib/course/)
BRANCH ?= main

## add or refresh the Binder/Colab badges and the Colab install cell in every notebook and the README
badges: $(STAMP)
	$(PY) -m fido_lib.course launch

## write the student notebooks assignments/NN_*.ipynb from notebooks/ (solutions cut out)
assignments: $(STAMP)
	$(PY) -m fido_lib.course assignments

## point the course at a fork: make fork REPO=owner/name [BRANCH=main]
fork: $(STAMP)
	@test -n "$(REPO)" || { echo "usage: make fork REPO=owner/name [BRANCH=main]" >&2; exit 2; }
	$(PY) -m fido_lib.course set-repo "$(REPO)" --branch "$(BRANCH)"

## notebook 04 in JupyterLab in headless Chromium (installs Debian's chromium and the npm packages when missing)
browser-test: $(STAMP)
	PY="$(CURDIR)/$(PY)" tests/browser/run.sh

## the course book, both editions, built offline from the notebooks' stored outputs:
## build/book/student/html and build/book/instructor/html (fido_lib/course/book.py; needs Python >= 3.11)
BOOK_STAMP := $(VENV)/.book-installed
$(BOOK_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	$(PY) -m fido_lib.course.book --out build/book

## both editions of the book in headless Chromium (served on 127.0.0.1; installs chromium and npm packages when missing)
book-test: book
	PY="$(CURDIR)/$(PY)" tests/browser/book.sh

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build/book
