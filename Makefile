# Two commands for a fresh machine (see README):
#   make synth   set up, then turn users.json into generated/
#   make test    set up, then run the test suite
# Setup is idempotent: stamps make a second run skip what is already installed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 18,20
export CHECKPOINT_DISABLE := 1
# Stamps are named by the content of what they install, so a fresh clone with the same
# requirements reuses an existing venv (pre-commit hooks run make on every commit).
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
PACKAGE := $(VENV)/.package-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEV     := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: synth check test setup install bench clean

synth: $(RUNTIME)
	$(BIN)/python main.py

check: $(RUNTIME)
	$(BIN)/python main.py check

test: $(DEV) node_modules/.installed
	$(BIN)/python -m pytest -q

setup: $(DEV) $(PACKAGE) node_modules/.installed

# The runtime and this package, editable: the `users-authentik` command in $(BIN).
install: $(PACKAGE)

bench: $(DEV)
	$(BIN)/python bench/bench.py

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	touch $@

# With the package (editable), so `make synth` on a fresh clone runs main.py at once.
$(RUNTIME): $(VENV)/.created
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# Again when pyproject.toml changes (a new command, package data).
$(PACKAGE): $(RUNTIME)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# cdktf-cli, only for `npx cdktf synth` and its test; main.py itself needs no npm package.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules cdktf.out .pytest_cache build *.egg-info
