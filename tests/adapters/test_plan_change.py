"""The write rule every adapter shares: idempotent, refuses conflicts and stale reads."""

from __future__ import annotations

from core.identifier_form import IdentifierForm
from core.model import ChangeKind, IdentifierChange
from directory_adapters.base import plan_change

A = "8P4BHZJQ79SUNFX3"
B = "5A2MJSNYRDTWKP4Q"
UAI = "0441234A"
FORM = IdentifierForm()


def test_add_writes_the_establishment_value_only():
    change = IdentifierChange("j", UAI, ChangeKind.ADD, idpn=A)
    values, outcome = plan_change(FORM, ["0351111B$" + B], change)
    assert outcome is None
    assert values == ("0351111B$" + B, f"{UAI}${A}")


def test_replay_is_already_in_effect():
    change = IdentifierChange("j", UAI, ChangeKind.ADD, idpn=A)
    values, outcome = plan_change(FORM, [f"{UAI}${A}"], change)
    assert values is None and outcome.applied and outcome.reason == "already in effect"
    removal = IdentifierChange("j", UAI, ChangeKind.REMOVE, previous=A)
    values, outcome = plan_change(FORM, [], removal)
    assert values is None and outcome.applied


def test_conflict_with_another_holder():
    change = IdentifierChange("j", UAI, ChangeKind.ADD, idpn=A)
    values, outcome = plan_change(FORM, [], change, other_holders=["k", "j"])
    assert values is None
    assert not outcome.applied and outcome.failure == "conflict" and "k" in outcome.reason


def test_stale_previous_is_refused():
    change = IdentifierChange("j", UAI, ChangeKind.REPLACE, idpn=A, previous=B)
    values, outcome = plan_change(FORM, [f"{UAI}$ZZZZZZZZZZZZZZZZ"], change)
    assert values is None and outcome.failure == "changed"
    add_over_existing = IdentifierChange("j", UAI, ChangeKind.ADD, idpn=A)
    _, outcome = plan_change(FORM, [f"{UAI}${B}"], add_over_existing)
    assert outcome.failure == "changed"


def test_the_account_itself_is_no_conflict_whatever_the_case():
    change = IdentifierChange("JDupont", UAI, ChangeKind.ADD, idpn=A)
    values, outcome = plan_change(FORM, [], change, other_holders=["jdupont"])
    assert outcome is None and values == (f"{UAI}${A}",)
