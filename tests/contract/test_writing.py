"""The Directory port's writing promises (core/directory.py: `apply`, `plan_change`,
`write_check`), kept by every adapter.

Each test gets a fresh storage of each kind (conftest.py) and reads it back
without the adapter (`Kind.stored`, `Kind.snapshot`): what was written, in
which form, and that a refused or replayed change wrote nothing at all.
"""

from __future__ import annotations

import pytest

from core.directory import READ_ONLY, WRITABLE, Directory
from core.model import ALREADY_IN_EFFECT
from tests.changes import add, remove
from tests.contract.conftest import Kind
from tests.ldap.conftest import ID1, ID2, ID3, ID4, OTHER_UAI, UAI

ID5 = "BBBBBBBBBBBBBBBB"


def results(outcomes: list) -> list[tuple[bool, str | None]]:
    return [(o.applied, o.failure) for o in outcomes]


def test_the_storage_form_is_uai_dollar_identifier(kind: Kind, writer: Directory) -> None:
    assert kind.stored("jdupont") == []
    (outcome,) = writer.apply([add("jdupont", ID2)])
    assert (outcome.applied, outcome.failure, outcome.reason) == (True, None, None)
    assert kind.stored("jdupont") == [f"{UAI}${ID2}"]
    # what was written is what the adapter, and a fresh one, read back
    assert writer.get("jdupont").identifiers == (f"{UAI}${ID2}",)
    fresh = kind.open()
    assert fresh.get("jdupont").identifiers == (f"{UAI}${ID2}",)
    assert [a.login for a in fresh.holders(ID2, UAI)] == ["jdupont"]
    assert sorted((r.account.login, r.idpn) for r in fresh.linked(UAI)) == [
        ("jdupont", ID2),
        ("mdupont", ID1),
    ]
    assert writer.search("jean")[0].identifiers == (f"{UAI}${ID2}",)  # search sees it too


def test_add_replace_remove_touch_only_this_establishments_value(
    kind: Kind, writer: Directory
) -> None:
    others = [f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}"]  # another school's, another tool's
    assert results(writer.apply([add("pmartin", ID2)])) == [(True, None)]
    assert kind.stored("pmartin") == sorted([*others, f"{UAI}${ID2}"])
    assert results(writer.apply([add("pmartin", ID5, previous=ID2)])) == [(True, None)]
    assert kind.stored("pmartin") == sorted([*others, f"{UAI}${ID5}"])
    assert results(writer.apply([remove("pmartin", ID5)])) == [(True, None)]
    assert kind.stored("pmartin") == sorted(others)
    assert sorted(writer.get("pmartin").identifiers) == sorted(others)
    # the other establishment's value, replaced for that establishment only
    assert results(writer.apply([add("pmartin", ID2, OTHER_UAI, previous=ID4)])) == [(True, None)]
    assert kind.stored("pmartin") == sorted([f"{OTHER_UAI}${ID2}", f"PRONOTE${ID3}"])
    assert sorted(kind.open().get("pmartin").identifiers) == kind.stored("pmartin")


def test_one_outcome_per_change_in_order(kind: Kind, writer: Directory) -> None:
    changes = [add("nobody", ID2), add("jdupont", ID2), add("macco12", ID1), add("hcaron", ID3)]
    outcomes = writer.apply(changes)
    assert [o.change for o in outcomes] == changes
    assert results(outcomes) == [
        (False, "not_found"),
        (True, None),
        (False, "conflict"),  # mdupont holds ID1
        (True, None),
    ]
    assert kind.stored("hcaron") == [f"{UAI}${ID3}"]
    assert writer.apply([]) == []


def test_a_value_held_elsewhere_is_refused_even_within_one_batch(
    kind: Kind, writer: Directory
) -> None:
    before = kind.snapshot()
    (outcome,) = writer.apply([add("jdupont", ID1)])  # mdupont holds ID1
    assert (outcome.applied, outcome.failure) == (False, "conflict")
    assert "mdupont" in outcome.reason
    assert kind.snapshot() == before  # nothing written
    outcomes = writer.apply([add("jdupont", ID2), add("macco12", ID2)])
    assert results(outcomes) == [(True, None), (False, "conflict")]
    assert "jdupont" in outcomes[1].reason
    assert kind.stored("macco12") == []
    # moving an identifier: free it first, then give it, in one batch
    outcomes = writer.apply([remove("jdupont", ID2), add("macco12", ID2)])
    assert all(o.applied for o in outcomes)
    assert [a.login for a in writer.holders(ID2, UAI)] == ["macco12"]
    assert (kind.stored("jdupont"), kind.stored("macco12")) == ([], [f"{UAI}${ID2}"])


def test_a_stored_value_that_changed_is_not_overwritten(kind: Kind, writer: Directory) -> None:
    before = kind.snapshot()
    outcomes = writer.apply(
        [add("mdupont", ID2), add("mdupont", ID2, previous=ID3), remove("mdupont", ID3)]
    )
    assert [o.failure for o in outcomes] == ["changed", "changed", "changed"]
    assert all(UAI in o.reason and "mdupont" in o.reason for o in outcomes)
    assert kind.stored("mdupont") == [f"{UAI}${ID1}"]
    assert kind.snapshot() == before


def test_replay_is_already_in_effect_and_writes_nothing(kind: Kind, writer: Directory) -> None:
    changes = [add("jdupont", ID2), add("mdupont", ID3, previous=ID1), remove("tdurand", ID1)]
    before = kind.snapshot()
    assert all(o.applied for o in writer.apply(changes))
    written = kind.snapshot()
    assert written != before  # the snapshot does see a write
    for directory in (writer, kind.open()):  # the same session, or a resumed one
        outcomes = directory.apply(changes)
        assert [(o.applied, o.reason) for o in outcomes] == [(True, ALREADY_IN_EFFECT)] * 3
        assert kind.snapshot() == written
    assert kind.stored("mdupont") == [f"{UAI}${ID3}"]


def test_unknown_logins_are_not_found(kind: Kind, writer: Directory) -> None:
    before = kind.snapshot()
    outcomes = writer.apply([add("nobody", ID2), remove("nobody", ID2), add("*", ID2)])
    assert results(outcomes) == [(False, "not_found")] * 3
    assert "nobody" in outcomes[0].reason
    assert kind.snapshot() == before


def test_the_write_check_changes_nothing(kind: Kind, writer: Directory) -> None:
    sample = writer.census(1000).sample
    assert sample is not None
    before = kind.snapshot()
    check = writer.write_check(sample)
    assert check.status == WRITABLE, check
    assert check.attribute == writer.identifier_field()
    assert check.target and check.detail
    assert not [secret for secret in kind.secrets if secret in check.detail]
    assert kind.snapshot() == before


def test_the_write_check_of_a_read_only_access(kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = kind.read_only(monkeypatch)
    sample = directory.get("jdupont")
    before = kind.snapshot()
    check = directory.write_check(sample)
    assert check.status == READ_ONLY, check
    assert check.attribute == directory.identifier_field()
    assert not [secret for secret in kind.secrets if secret in check.detail]
    assert kind.snapshot() == before
