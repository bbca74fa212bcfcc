"""The domain model: six categories in the wizard's order, frozen values."""

from __future__ import annotations

import dataclasses

import pytest

from core.model import (
    CATEGORIES,
    DEFAULT_PROFILES,
    Category,
    DirectoryAccount,
    ProfileMapping,
    PronoteAccount,
    is_valid_idpn,
)


def test_six_categories_in_wizard_order():
    assert [c.slug for c in CATEGORIES] == [
        "enseignants",
        "eleves",
        "responsables",
        "maitres_de_stage",
        "inspecteurs",
        "personnels",
    ]
    assert Category.ELEVES.label() == "Élèves"
    assert Category.ELEVES.label("en") == "Students"
    assert Category.MAITRES_DE_STAGE.label() == "Maîtres de stage"
    assert Category.ELEVES.step == 2
    assert Category.from_slug("responsables") is Category.RESPONSABLES
    with pytest.raises(ValueError, match="enseignants"):
        Category.from_slug("profs")


def test_accounts_are_frozen():
    account = PronoteAccount("8P4BHZJQ79SUNFX3", Category.ENSEIGNANTS, "ARNAUD", "Thomas")
    with pytest.raises(dataclasses.FrozenInstanceError):
        account.surname = "X"  # type: ignore[misc]
    entry = DirectoryAccount("tarnaud", "ARNAUD", "Thomas")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.login = "x"  # type: ignore[misc]


def test_idpn_shape():
    assert is_valid_idpn("8P4BHZJQ79SUNFX3")
    for bad in ("8p4bhzjq79sunfx3", "8P4BHZJQ79SUNFX", "8P4BHZJQ79SUNFX3A", "8P4BHZJQ79SUNF-3", ""):
        assert not is_valid_idpn(bad)


def test_profile_mapping_is_case_blind():
    mapping = ProfileMapping(dict(DEFAULT_PROFILES))
    student = DirectoryAccount("x", "A", "B", profiles=("national_elv",))
    assert mapping.matches(student, Category.ELEVES)
    assert not mapping.matches(student, Category.ENSEIGNANTS)
    assert mapping.categories_of(("National_DOC", "National_ENS")) == {
        Category.PERSONNELS,
        Category.ENSEIGNANTS,
    }
