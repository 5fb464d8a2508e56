# make test: the whole suite; make demo: a case lifecycle on a throwaway repository.
# Both create the virtualenv (.venv) and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo bench examples clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# compat mode: a plain path in a .pth file; the default import-hook finder
	# costs every casectl process ~15 ms of start-up.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--config-settings editable_mode=compat -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash tools/demo.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

examples: $(STAMP)
	$(BIN)/python tools/make_examples.py

clean:
	rm -rf $(VENV) demo-desk .pytest_cache build *.egg-info
