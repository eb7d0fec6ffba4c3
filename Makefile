# Two commands for everything (see README.md):
#   make lab    set up .venv if needed, then open the course in JupyterLab
#   make test   set up .venv if needed, then run the whole test suite
#   make test-fast  the developer tier: everything but the slow tiers (notebooks, browser, packaging)
# Options: PORT=8888  LAB_ARGS="--no-browser"  PYTEST_ARGS="-x -k vgg"  TEST_JOBS=2

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
LAB_ARGS ?=
ROOT_ARG := $(if $(filter 0,$(shell id -u)),--allow-root)  # containers and CI run as root
PYTEST_ARGS ?=
# pytest-xdist workers (tests/conftest.py): 2 suits the 2-core machines CI runs on; 0 runs the
# suite in one process. --dist loadscope keeps each test file, and each notebook, on one worker.
TEST_JOBS ?= 2
PARALLEL := -n $(TEST_JOBS) --dist loadscope
NOTEBOOKS ?= solutions/*.ipynb  # e.g. NOTEBOOKS="solutions/0[1-3]*.ipynb"

# Kernels run in the notebook's folder: relative COURSE_DATA / COURSE_CACHE paths are made absolute here.
ifdef COURSE_DATA
export COURSE_DATA := $(abspath $(COURSE_DATA))
endif
ifdef COURSE_CACHE
export COURSE_CACHE := $(abspath $(COURSE_CACHE))
endif

.PHONY: lab test test-fast setup notebooks colab-widgets clean

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=. $(ROOT_ARG) $(LAB_ARGS)

test: $(STAMP)
	COURSE_MODE=$${COURSE_MODE:-fast} $(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

test-fast: $(STAMP)
	COURSE_MODE=$${COURSE_MODE:-fast} $(BIN)/python -m pytest $(PARALLEL) -m "not slow" $(PYTEST_ARGS)

setup: $(STAMP)

# Instructors: after editing solutions/ (either file of a pair), sync the pairs, store fresh
# outputs (run where the outputs should come from: a GPU for full mode) and rebuild notebooks/.
# NOTEBOOKS= picks which solutions to re-run; all pairs are synced and all students rebuilt,
# except student notebooks edited since they were generated, which are kept (FORCE=1 replaces them).
notebooks: $(STAMP)
	$(BIN)/jupytext --sync solutions/*.ipynb
	for nb in $(NOTEBOOKS); do \
	  COURSE_PROGRESS=text $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.store_widget_state=False --ExecutePreprocessor.timeout=3600 "$$nb" || exit 1; \
	done
	$(BIN)/python tools/make_student.py $(if $(FORCE),--force)
	$(BIN)/jupytext --sync solutions/*.ipynb

# Re-installs whenever the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $(STAMP)

# The widget panels against the ipywidgets Colab preinstalls (7.7.1; the course accepts it, so the
# Colab set-up cell does not replace it): that version alone, ahead of the venv's, for the panel tests.
COLAB_WIDGETS := $(VENV)/colab-ipywidgets
colab-widgets: $(STAMP)
	test -d $(COLAB_WIDGETS) || $(BIN)/python -m pip install -q --no-deps --target $(COLAB_WIDGETS) ipywidgets==7.7.1 ipython_genutils==0.2.0
	PYTHONPATH=$(abspath $(COLAB_WIDGETS)) $(BIN)/python -c "import ipywidgets; assert ipywidgets.__version__ == '7.7.1'"
	PYTHONPATH=$(abspath $(COLAB_WIDGETS)) $(BIN)/python -m pytest -p no:cacheprovider tests/test_widgets.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
