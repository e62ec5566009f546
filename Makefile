# Two commands for a fresh machine (see README):
#   make synth   set up, then turn users.json into generated/
#   make test    set up, then run the test suite
# Setup is idempotent: stamps make a second run skip what is already installed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 18,20
export CHECKPOINT_DISABLE := 1

.PHONY: synth check test setup bench clean

synth: $(VENV)/.runtime
	$(BIN)/python main.py

check: $(VENV)/.runtime
	$(BIN)/python main.py check

test: $(VENV)/.dev node_modules/.installed
	$(BIN)/python -m pytest -q

setup: $(VENV)/.dev node_modules/.installed

bench: $(VENV)/.dev
	$(BIN)/python bench/bench.py

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	touch $@

$(VENV)/.runtime: requirements.txt $(VENV)/.created
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# cdktf-cli, only for `npx cdktf synth` and its test; main.py itself needs no npm package.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules cdktf.out .pytest_cache
