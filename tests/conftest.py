"""Shared fixtures: every test starts in the default language, French."""

from __future__ import annotations

import pytest

from core import i18n


@pytest.fixture(autouse=True)
def default_language():
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


@pytest.fixture
def english():
    """For the tests that check the English wording of a message (`--lang en`)."""
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


# The private slapd factory (tests/ldap/conftest.py), for every test directory.
from tests.ldap.conftest import slapd_factory  # noqa: E402, F401


@pytest.fixture(scope="session")
def rsa_keys():
    """Fresh RSA keys for this run (never a key kept in the repository):
    the site's partner key, another partner's, and one of another size."""
    from bench.envelope import new_key

    return {"ours": new_key(), "theirs": new_key(), "small": new_key(1024)}
