# FlowLens: `make run` starts the dashboard, `make test` runs the whole test suite.
# Both create .venv if missing and install everything at the pinned versions (constraints.txt:
# torch==2.13.0 CPU): the light base (API, UI, queue), the worker extra and the test extra.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[worker,test]"
	touch $@

run: $(STAMP)
	$(BIN)/flowlens up

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest

bench: $(STAMP)
	for b in bench/*.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$b --quick || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
