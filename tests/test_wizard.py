"""The six-step session on the CSV directory: write sets, interrupt, resume, undo, lock, memory.

The same scenarios run against a real slapd in tests/ldap/test_wizard_ldap.py.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from core.errors import DirectoryError
from core.journal import LockHeld, find_session, sessions
from core.memory import DecisionMemory
from core.model import CATEGORIES, Category, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession, LinkRefused, undo_session, unlink_account
from directory_adapters.csv import CsvDirectory

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path):
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def directory(site: Path) -> CsvDirectory:
    return CsvDirectory(site / "annuaire.csv")


def export(site: Path):
    return read_identifiers_file(site / "identifiants.xml")


def stored(site: Path) -> dict[str, frozenset[str]]:
    """Every account's values for the establishment, read fresh from the file."""
    d = directory(site)
    return {a.login: frozenset(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)} | {
        a.login: frozenset(a.identifiers) for a in d.accounts("0359999Z")
    }


def session(site: Path, mode: str = "complet", **kw) -> ImportSession:
    return ImportSession(
        directory(site), export(site), uai=UAI, mode=mode, data_dir=site / "data", **kw
    ).start()


def run_all(s: ImportSession) -> None:
    while not s.finished:
        s.validate()


def intended(site: Path, mode: str) -> dict[str, frozenset[str]]:
    """What the directory should hold after validating every step with automatic links."""
    s = ImportSession(directory(site), export(site), uai=UAI, mode=mode, data_dir=None)
    expected = dict(stored(site))
    for category in CATEGORIES:
        state = s.state(category)
        for change in s.plan(state).changes:
            if change.kind is ChangeKind.REMOVE:
                expected[change.login] = frozenset()
            else:
                expected[change.login] = frozenset({change.idpn})
    return expected


# -- write sets -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["complet", "partiel"])
def test_validating_every_step_writes_what_matching_recognised(site, mode):
    before = stored(site)
    expected = intended(site, mode)
    s = session(site, mode)
    kinds = set()
    while not s.finished:
        plan = s.plan()
        kinds |= {c.kind for c in plan.changes}
        outcomes = s.validate()
        assert all(o.applied for o in outcomes), [o.reason for o in outcomes if not o.applied]
    assert stored(site) == expected != before
    if mode == "partiel":
        assert kinds == {ChangeKind.ADD}  # partial mode never removes nor replaces
    else:
        assert ChangeKind.REMOVE in kinds
    # Every recognised account now stores its identifier, and nothing else moved.
    for state in s.states.values():
        assert s.written(state) == set(state.links()) - {
            idpn for idpn, _reason in s.plan(state).skipped
        }


def test_a_second_run_changes_nothing(site):
    run_all(session(site))
    after = (site / "annuaire.csv").read_bytes()
    s = session(site)
    while not s.finished:
        assert not any(o.wrote for o in s.validate())
    assert (site / "annuaire.csv").read_bytes() == after


def test_interrupt_after_step_two_keeps_one_and_two_and_touches_nothing_else(site):
    before = stored(site)
    expected = intended(site, "complet")
    s = session(site)
    s.validate()
    s.validate()
    s.interrupt()
    after = stored(site)
    d = directory(site)
    first_two = {Category.ENSEIGNANTS, Category.ELEVES}
    for login, values in after.items():
        account = d.get(login)
        categories = d.profiles.categories_of(account.profiles)
        if categories & first_two:
            assert values == expected[login], login
        else:
            assert values == before[login], login
    record = find_session(site / "data", s.session)
    assert record.status == "interrupted" and record.steps_done == ["enseignants", "eleves"]


def test_a_step_with_nothing_to_write_can_be_validated(site):
    s = session(site, "partiel")
    for _ in CATEGORIES:
        state = s.current
        for d in state.match.decisions:
            s.clear(d.pronote.idpn)
        assert s.plan().changes == []
        assert s.validate() == []
    assert s.ended == "completed"


# -- failures, resume, undo --------------------------------------------------------------------


class DyingDirectory(CsvDirectory):
    """The second batch gets half-written, then the 'server' dies."""

    calls = 0

    def apply(self, changes):
        self.calls += 1
        if self.calls == 2:
            super().apply(changes[: len(changes) // 2])
            raise DirectoryError("connection lost")
        return super().apply(changes)


def test_a_failure_in_the_middle_of_a_step_then_resume_ends_in_the_intended_state(site):
    expected = intended(site, "complet")
    dying = DyingDirectory(site / "annuaire.csv")
    s = ImportSession(dying, export(site), uai=UAI, mode="complet", data_dir=site / "data")
    s.start()
    s.validate()  # teachers: few changes, fine
    with pytest.raises(DirectoryError):
        s.validate()  # students: dies half-way
    s.close()  # the process would be gone; the lock goes with it
    (record,) = [r for r in sessions(site / "data", UAI) if r.unfinished]
    assert record.pending(), "the intent of the cut batch has no outcome"
    resumed = ImportSession.resume(directory(site), record, export(site), data_dir=site / "data")
    assert resumed.category is Category.RESPONSABLES  # students were replayed
    run_all(resumed)
    assert stored(site) == expected
    final = find_session(site / "data", record.session)
    assert final.status == "completed" and not final.pending()
    assert final.counts()["failed"] == 0


def test_undo_restores_the_exact_previous_state(site):
    before_bytes = (site / "annuaire.csv").read_bytes()
    s = session(site)
    run_all(s)
    assert (site / "annuaire.csv").read_bytes() != before_bytes
    record = find_session(site / "data", s.session)
    outcomes = undo_session(directory(site), record, data_dir=site / "data")
    assert outcomes and all(o.applied for o in outcomes)
    assert (site / "annuaire.csv").read_bytes() == before_bytes
    undo = [r for r in sessions(site / "data", UAI) if r.kind == "undo"]
    assert undo[0].header["undo_of"] == s.session and undo[0].status == "completed"


def test_undo_never_overwrites_a_value_changed_since(site):
    s = session(site, "partiel")
    s.validate()
    s.interrupt()
    record = find_session(site / "data", s.session)
    (first, *_) = record.written()
    # Someone relinks that account by hand in the meantime.
    d = directory(site)
    from core.model import IdentifierChange

    d.apply(
        [
            IdentifierChange(
                first["login"], UAI, ChangeKind.REPLACE, "ZZZZZZZZZZZZZZZZ", first["idpn"]
            )
        ]
    )
    outcomes = undo_session(directory(site), record, data_dir=site / "data")
    refused = [o for o in outcomes if o.change.login == first["login"]]
    assert refused and not refused[0].applied and refused[0].failure == "changed"
    assert stored(site)[first["login"]] == frozenset({"ZZZZZZZZZZZZZZZZ"})


# -- the lock, the journal's privacy ------------------------------------------------------------


def test_two_sessions_on_one_establishment_are_refused_with_who_and_since(site):
    first = session(site)
    with pytest.raises(LockHeld) as refused:
        session(site)
    message = str(refused.value)
    assert UAI in message and "depuis" in message
    first.interrupt()
    session(site).interrupt()  # free again


def test_journals_and_memory_are_private(site):
    s = session(site)
    run_all(s)
    record = find_session(site / "data", s.session)
    assert stat.S_IMODE(record.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(record.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((site / "data").stat().st_mode) == 0o700
    header = record.header
    assert header["operator"]["user"] and header["mode"] == "complet"
    assert len(header["file_sha256"]) == 64


# -- manual links and memory --------------------------------------------------------------------


def _unrecognised(s: ImportSession, category: Category):
    while s.category is not category:
        s.validate()
    return [d for d in s.current.match.decisions if not d.recognised]


def test_a_manual_link_is_written_and_remembered_for_the_next_import(site):
    s = session(site)
    left = _unrecognised(s, Category.ELEVES)
    target = next(d for d in left if d.candidates)
    login = target.candidates[0]
    s.link(target.pronote.idpn, login)
    s.validate()
    s.interrupt()
    assert DecisionMemory(site / "data").links(UAI)[target.pronote.idpn] == login
    # Next import, from a fresh directory state where it was removed again.
    directory(site).apply(
        [
            __import__("core.model", fromlist=["IdentifierChange"]).IdentifierChange(
                login, UAI, ChangeKind.REMOVE, None, target.pronote.idpn
            )
        ]
    )
    again = session(site)
    state = again.state(Category.ELEVES)
    decision = state.decision(target.pronote.idpn)
    assert (decision.rule, decision.login) == ("remembered", login)
    again.interrupt()
    DecisionMemory(site / "data").forget(UAI, target.pronote.idpn)
    third = session(site)
    assert third.state(Category.ELEVES).decision(target.pronote.idpn).rule != "remembered"
    third.interrupt()


def test_a_remembered_link_is_not_carried_to_a_new_owner_of_the_login(site):
    """The login of a manual link is given to someone else: the link is not evidence."""
    s = session(site)
    target = next(d for d in _unrecognised(s, Category.ELEVES) if d.candidates)
    login = target.candidates[0]
    account = directory(site).get(login)
    s.link(target.pronote.idpn, login)
    s.validate()
    s.interrupt()
    entry = DecisionMemory(site / "data").entries(UAI)[target.pronote.idpn]
    assert (entry["login"], entry["nom"], entry["prenom"]) == (
        login,
        account.surname,
        account.first_name,
    )
    # The account is emptied and handed to another person (same login, new names).
    csv_path = site / "annuaire.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    for n, line in enumerate(lines):
        cells = line.rstrip("\n").split(";")
        if cells[0] == login:
            cells[1:4] = ["NOUVEAU", "Titulaire", "2010-01-01"]
            cells[-1] = ""
            lines[n] = ";".join(cells) + "\n"
    csv_path.write_text("".join(lines), encoding="utf-8")
    again = session(site)
    decision = again.state(Category.ELEVES).decision(target.pronote.idpn)
    assert (decision.recognised, decision.rule, decision.why) == (
        False,
        "conflict",
        "remembered_owner_changed",
    )
    assert login not in again.current.links().values()
    again.interrupt()


def test_manual_links_are_checked_like_automatic_ones(site):
    s = session(site)
    left = _unrecognised(s, Category.ELEVES)
    state = s.current
    linked_idpn, linked_login = next(iter(state.links().items()))
    # An account already taken in this step.
    with pytest.raises(LinkRefused, match="déjà relié"):
        s.link(left[0].pronote.idpn, linked_login)
    # An unknown account.
    with pytest.raises(LinkRefused, match="aucun compte"):
        s.link(left[0].pronote.idpn, "nobody.here")
    # Clearing an automatic link frees the account; restoring brings it back.
    s.clear(linked_idpn)
    assert state.link_of(linked_idpn) is None
    s.restore(linked_idpn)
    assert state.link_of(linked_idpn) == linked_login
    s.interrupt()


def test_obsolete_identifiers_can_be_kept(site):
    s = session(site)
    state = s.current
    assert state.match.obsolete
    first = state.match.obsolete[0]
    s.keep_obsolete(first.account.login, first.idpn)
    removals = [c for c in s.plan().changes if c.kind is ChangeKind.REMOVE]
    assert first.account.login not in {c.login for c in removals}
    s.validate()
    assert stored(site)[first.account.login] == frozenset({first.idpn})
    s.interrupt()


def test_unlinking_a_remembered_link_forgets_it(site):
    """An admin who removes a manual link must not see the next import put it back."""
    s = session(site)
    target = next(d for d in _unrecognised(s, Category.ELEVES) if d.candidates)
    login = target.candidates[0]
    s.link(target.pronote.idpn, login)
    s.validate()
    s.interrupt()
    memory = DecisionMemory(site / "data")
    assert memory.links(UAI)[target.pronote.idpn] == login
    outcome = unlink_account(
        directory(site), UAI, login, target.pronote.idpn, data_dir=site / "data"
    )
    assert outcome.applied
    assert target.pronote.idpn not in memory.links(UAI)
    again = session(site)
    assert again.state(Category.ELEVES).decision(target.pronote.idpn).rule != "remembered"
    again.interrupt()
