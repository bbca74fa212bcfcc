# Set-up is two commands: `make demo` and `make test` (README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format venv clean slapd

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's metadata changes; the stamp keeps warm runs fast.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

test: $(STAMP) slapd
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
