"""Core tests read messages in English; the CLI tests cover the French default."""

from __future__ import annotations

import pytest

from core import i18n


@pytest.fixture(autouse=True)
def english(default_language):
    i18n.set_language("en")
