# Two commands for a fresh machine (see README):
#   make synth   set up, then turn users.json into generated/
#   make test    set up, then run the test suite
# Setup is idempotent: stamps make a second run skip what is already installed.
# With Go installed, setup also builds OpenTofu from tools/go.mod into .tools/bin (once per pin).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 18,20
export CHECKPOINT_DISABLE := 1
# Stamps are named by the content of what they install (the hashed locks, see `lock` below),
# so a fresh clone with the same locks reuses an existing venv (pre-commit hooks run make on
# every commit), and a regenerated lock installs again.
RUNTIME := $(VENV)/.runtime-$(shell cat requirements.lock | cksum | cut -d' ' -f1)
PACKAGE := $(VENV)/.package-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEV     := $(VENV)/.dev-$(shell cat requirements-dev.lock | cksum | cut -d' ' -f1)

# The engine, built from its Go module (tools/README.md). The stamp is named by the pin, so the
# build runs again only when tools/go.mod or tools/go.sum change.
GO         ?= go
TOOLS      := .tools
TOOLS_PIN  := $(shell cat tools/go.mod tools/go.sum | cksum | cut -d' ' -f1)
TOFU_STAMP := $(TOOLS)/.tofu-$(TOOLS_PIN)
# As OpenTofu's release build (.goreleaser.yaml): static, trimmed, version without "-dev".
TOFU_LDFLAGS := -s -w -X 'github.com/opentofu/opentofu/version.dev=no'
# Only what is written here counts: no go.work, no GOFLAGS from the caller's environment.
GO_ENV     := CGO_ENABLED=0 GOWORK=off GOFLAGS=
GO_BUILD   := build -mod=readonly -trimpath -buildvcs=false

.PHONY: synth check test setup install tools bench bench-engine lock clean

synth: $(RUNTIME)
	$(BIN)/python main.py

check: $(RUNTIME)
	$(BIN)/python main.py check

# pytest-xdist runs the suite on one worker more than there are cores: the tests wait for
# OpenTofu, git, Node and pip, and the extra worker uses that time (bench/README.md: the
# suite's time). loadscope runs each module on one worker, so a module-scoped fixture (the
# fleet's package installs, the lifecycle's applied team) is built once, not once per worker.
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
test: $(DEV) $(PACKAGE) node_modules/.installed tools
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder

setup: $(DEV) $(PACKAGE) node_modules/.installed tools

# The runtime and this package, editable: the `users-authentik` command in $(BIN).
install: $(PACKAGE)

bench: $(DEV)
	$(BIN)/python bench/bench.py

# OpenTofu's plan time at 1,000-10,000 users; writes its table into bench/README.md.
bench-engine: $(DEV) tools
	$(BIN)/python bench/engine.py

# `plan` runs .tools/bin/tofu only if its sha256 is the one recorded here (a build from before
# the record gets one on the next `make tools`). check/plan refuse a commit that tracks .tools/.
TOFU_DIGEST := $(TOOLS)/tofu.sha256
SHA256     := $(PYTHON) -c "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"

tools: $(TOFU_STAMP)
	@if [ -f $(TOFU_STAMP) ] && [ -x $(TOOLS)/bin/tofu ] && [ ! -f $(TOFU_DIGEST) ]; then \
	  $(SHA256) $(TOOLS)/bin/tofu > $(TOFU_DIGEST); \
	fi

# No file prerequisites: the stamp's name is the pin, and a checkout that only touches the
# files' times must not rebuild. Without Go: one line, no stamp; the tests that need tofu skip.
$(TOFU_STAMP):
	@if ! command -v $(GO) >/dev/null 2>&1; then \
	  echo "make: no Go toolchain: OpenTofu not built; tests that need it skip (tools/README.md)"; \
	else \
	  echo "make: building OpenTofu from tools/go.mod into $(TOOLS)/bin (first time: minutes; tools/README.md)"; \
	  mkdir -p $(TOOLS)/bin && \
	  (cd tools && $(GO_ENV) $(GO) $(GO_BUILD) -ldflags "$(TOFU_LDFLAGS)" \
	    -o ../$(TOOLS)/bin/tofu.new github.com/opentofu/opentofu/cmd/tofu) && \
	  mv $(TOOLS)/bin/tofu.new $(TOOLS)/bin/tofu && \
	  $(SHA256) $(TOOLS)/bin/tofu > $(TOFU_DIGEST) && \
	  rm -f $(TOOLS)/.tofu-* && touch $@ && \
	  echo "make: built $$($(TOOLS)/bin/tofu version 2>/dev/null | head -n1)"; \
	fi

# The real goauthentik provider (tools/README.md#the-provider): NOT BUILT, because the Go module
# proxy this project can reach refuses every goauthentik.io module (403). Where it is served:
# add it to a tools module next to OpenTofu and un-comment; the ldflags are its release build's.
# PROVIDER_VERSION := 2026.5.0
# PROVIDER_COMMIT  := 69d1bb26f87391742b56be996e8a6d3ae374a595
# provider: $(TOOLS)/.provider-$(TOOLS_PIN)
# $(TOOLS)/.provider-$(TOOLS_PIN):
# 	(cd tools && $(GO_ENV) $(GO) $(GO_BUILD) -ldflags "-s -w -X main.version=$(PROVIDER_VERSION)" \
# 	  -o ../$(TOOLS)/bin/terraform-provider-authentik_v$(PROVIDER_VERSION) goauthentik.io/terraform-provider-authentik)
# 	touch $@

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-pip.lock
	touch $@

# Every install of the requirements is from a hashed lock (`lock` below): pip checks each file
# it downloads against the lock's sha256s and refuses any other. The package itself with
# --no-deps: its dependencies are the lock's, already installed. With the package (editable),
# so `make synth` on a fresh clone runs main.py at once.
$(RUNTIME): $(VENV)/.created
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

# Again when pyproject.toml changes (a new command, package data).
$(PACKAGE): $(RUNTIME)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# The hashed locks: requirements*.txt are the pins people edit (pyproject.toml reads
# requirements.txt and requirements-plan.txt as the package's dependencies and `plan` extra);
# `make lock` writes each lock below from the files named after it, with pip-compile
# (pip-tools, requirements-dev.txt) and the sha256 of every file PyPI has for each pinned
# version (any platform's wheel, the sdist), fetched anew (--no-reuse-hashes). A lock holds
# exactly its files' name==version pins (tests/test_locks.py). Needs the network; commit the
# locks with the pins. A lock is a Python 3.11+ closure on Linux and macOS (markers such as
# colorama's on Windows are not in the pins).
LOCKS := requirements.lock requirements-plan.lock requirements-dev.lock requirements-pip.lock
requirements.lock: requirements.txt
requirements-plan.lock: requirements.txt requirements-plan.txt
requirements-dev.lock: requirements-dev.txt
requirements-pip.lock: requirements-pip.txt
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
  --no-reuse-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
  --no-emit-trusted-host
.PHONY: $(LOCKS)
lock: $(LOCKS)
$(LOCKS): $(DEV)
	$(PIP_COMPILE) --output-file=$@ $(filter %.txt,$^)

# cdktf-cli, only for `npx cdktf synth` and its test; main.py itself needs no npm package.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) node_modules cdktf.out .pytest_cache build *.egg-info $(TOOLS)
