# Set-up is two commands: `make demo` and `make test` (README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The locks (README, "Installing"): requirements.lock is what the application
# installs, requirements-dev.lock adds the tests' and the build's tools. Every
# install below takes exact versions and hashes from them, nothing else.
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_LOCKED := -m pip install --quiet --require-hashes --only-binary :all: --no-deps
# `make lock` only: the resolver that writes the locks (never installed on a server).
UV_VERSION := 0.13.9
LOCK_TOOL  := .lock-tool

.PHONY: demo test lint format venv clean slapd strace lock wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when a lock or the project's metadata changes; the stamp keeps warm
# runs fast. The project itself is installed without dependencies and built
# with the locked setuptools (no build isolation: nothing unpinned is fetched).
$(STAMP): $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python $(PIP_LOCKED) -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/idpronote demo

# OpenLDAP's slapd and the ldap-utils (and openssl, for the test CA), for the tests that talk to a real
# directory. Skipped entirely when slapd is already there, so a warm machine
# does not touch apt. /etc/ldap/noslapd keeps the package's own service from
# starting: the tests start their own private slapd.
slapd:
	@if { command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; } && \
	    command -v openssl >/dev/null 2>&1; then \
		echo "slapd: already installed"; \
	else \
		echo "slapd: installing through apt"; \
		mkdir -p /etc/ldap && touch /etc/ldap/noslapd; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >/dev/null; \
	fi

# strace, for the test that watches the reader open no file an identifiers file names.
strace:
	@if command -v strace >/dev/null 2>&1 || [ -x /usr/bin/strace ]; then \
		echo "strace: already installed"; \
	else \
		echo "strace: installing through apt"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends strace >/dev/null; \
	fi

test: $(STAMP) slapd strace
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh the locks on purpose: the newest versions pyproject.toml's ranges
# allow, for every platform and Python >= 3.11, then the whole suite on them.
# Review the diff of the locks before committing it.
lock:
	@test -x $(LOCK_TOOL)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOL) && \
		$(LOCK_TOOL)/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	$(LOCK_TOOL)/bin/uv pip compile pyproject.toml --upgrade \
		--universal --python-version 3.11 --fork-strategy fewest --generate-hashes \
		--custom-compile-command "make lock" --quiet -o $(LOCK)
	printf 'setuptools\nwheel\n' | $(LOCK_TOOL)/bin/uv pip compile pyproject.toml - \
		--extra test -c $(LOCK) --upgrade \
		--universal --python-version 3.11 --fork-strategy fewest --generate-hashes \
		--custom-compile-command "make lock" --quiet -o $(DEV_LOCK)
	rm -f $(STAMP)
	$(MAKE) test

# The wheel users install (pipx, or a venv of its own: README, "Installing").
wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) $(LOCK_TOOL) build dist *.egg-info .pytest_cache .ruff_cache
