"""The value form decides which values idpronote owns: only those ever move."""

from __future__ import annotations

import pytest

from core.identifier_form import IdentifierForm, InvalidForm
from core.model import ChangeKind, IdentifierChange

A = "8P4BHZJQ79SUNFX3"
B = "5A2MJSNYRDTWKP4Q"


def test_default_form_is_per_establishment():
    form = IdentifierForm()
    assert form.format("0441234A", A) == f"0441234A${A}"
    assert form.parse(f"0441234A${A}") == ("0441234A", A)
    assert form.parse("something else") is None
    assert form.parse(f"0441234A${A.lower()}") is None
    assert form.per_establishment


def test_only_the_establishment_values_are_replaced():
    form = IdentifierForm()
    values = (f"0351111B${B}", f"0441234A${A}", "foreign-value")
    change = IdentifierChange("jdupont", "0441234A", ChangeKind.REPLACE, idpn=B, previous=A)
    assert form.apply(values, change) == (f"0351111B${B}", "foreign-value", f"0441234A${B}")
    removal = IdentifierChange("jdupont", "0441234A", ChangeKind.REMOVE, previous=A)
    assert form.apply(values, removal) == (f"0351111B${B}", "foreign-value")


def test_esco_and_bare_forms():
    esco = IdentifierForm("PRONOTE${idpn}")
    assert not esco.per_establishment
    assert esco.idpns_for(["PRONOTE$" + A, "OTHER$X"], "0441234A") == [A]
    change = IdentifierChange("j", "0441234A", ChangeKind.REPLACE, idpn=B, previous=A)
    assert esco.apply(["OTHER$X", "PRONOTE$" + A], change) == ("OTHER$X", "PRONOTE$" + B)
    bare = IdentifierForm("{idpn}")
    assert bare.idpns_for([A, "not-an-id"], "0441234A") == [A]


@pytest.mark.parametrize("template", ["{uai}", "{idpn}{idpn}", "{uai}{uai}{idpn}", "{idpn}{x}"])
def test_invalid_forms_are_refused(template):
    with pytest.raises(InvalidForm):
        IdentifierForm(template)


def test_changes_validate_their_identifier():
    with pytest.raises(ValueError):
        IdentifierChange("j", "0441234A", ChangeKind.ADD, idpn="short")
    with pytest.raises(ValueError):
        IdentifierChange("j", "0441234A", ChangeKind.REMOVE, idpn=A)
