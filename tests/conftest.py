"""Shared fixtures: every test starts in the default language, French."""

from __future__ import annotations

import pytest

from core import i18n


@pytest.fixture(autouse=True)
def default_language():
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")
