"""Decisions in bulk and what the search dialog asks the session (issue 16: big steps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.model import Category, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters.csv import CsvDirectory
from directory_adapters.ldif import LdifDirectory
from directory_adapters.mapping import AttributeMapping

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path):
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def session(site: Path, mode: str = "complet") -> ImportSession:
    return ImportSession(
        CsvDirectory(site / "annuaire.csv"),
        read_identifiers_file(site / "identifiants.xml"),
        uai=UAI,
        mode=mode,
        data_dir=site / "data",
    ).start()


def to(s: ImportSession, category: Category) -> None:
    while s.category is not category:
        s.validate()


def test_proposals_are_the_single_free_candidates(site):
    with session(site) as s:
        to(s, Category.ELEVES)
        proposals = dict(s.proposals())
        names = {
            s.current.decision(i).pronote.display_name: login for i, login in proposals.items()
        }
        assert names == {"COLIN Léo": "leo.colin", "PERLIVAL Mathis": "mathis.perlival"}
        # Every one is an unrecognised record with that one candidate.
        for idpn, login in proposals.items():
            d = s.current.decision(idpn)
            assert not d.recognised and d.candidates == (login,)


def test_a_linked_record_or_a_taken_account_is_not_proposed_again(site):
    with session(site) as s:
        to(s, Category.ELEVES)
        (idpn, login), (other, _) = s.proposals()
        s.link(idpn, login)
        assert [p[0] for p in s.proposals()] == [other]
        # The other record's candidate linked to someone else by hand: not proposed either.
        d = s.current.decision(other)
        someone = next(
            x.pronote.idpn
            for x in s.current.match.unrecognised
            if x.pronote.idpn not in (idpn, other)
        )
        s.link(someone, d.candidates[0])
        assert s.proposals() == []


def test_decide_many_goes_through_link_and_clear_and_reports_refusals(site, monkeypatch):
    with session(site) as s:
        to(s, Category.ELEVES)
        calls = []
        for name in ("link", "clear"):
            original = getattr(s, name)

            def spy(*args, _original=original, _name=name):
                calls.append(_name)
                return _original(*args)

            monkeypatch.setattr(s, name, spy)
        proposals = s.proposals()
        fuzzy = s.fuzzy_links()
        assert len(fuzzy) == 3
        # A link the rules refuse (an account the step links already) is refused, not made.
        taken = s.current.match.recognised[0].login
        stray = next(d.pronote.idpn for d in s.current.match.unrecognised if d.rule == "ambiguous")
        refused = s.decide_many(links=[*proposals, (stray, taken)], rejects=fuzzy)
        assert [idpn for idpn, _ in refused] == [stray]
        assert taken in refused[0][1]
        assert calls == ["link"] * 3 + ["clear"] * 3
        assert s.current.rejected == set(fuzzy)
        assert s.fuzzy_links() == []
        plan = s.plan()
        written = {c.idpn for c in plan.changes if c.kind is not ChangeKind.REMOVE}
        assert {idpn for idpn, _ in proposals} <= written
        assert not written & set(fuzzy)
        assert stray not in s.current.manual


def test_link_check_says_what_enter_would_meet(site):
    with session(site) as s:
        to(s, Category.ELEVES)
        d = next(x for x in s.current.match.unrecognised if x.rule == "date_differs")
        check = s.link_check(d.pronote.idpn)
        directory = s.directory
        recognised = s.current.match.recognised[0]
        assert check(directory.get(recognised.login)) == "taken"
        assert check(directory.get(d.candidates[0])) is None
        # Its own recognised account is not "taken" for itself.
        assert s.link_check(recognised.pronote.idpn)(directory.get(recognised.login)) is None
        # An account storing an identifier of the file for this establishment: refused.
        holder = next(x for x in s.current.match.recognised if x.rule == "already_linked").login
        own = s.link_check("0" * 16)
        assert own(directory.get(holder)) == "taken"
        obsolete = s.current.match.obsolete[0].account
        assert own(obsolete) == "replaces"
    with session(site, "partiel") as s:
        to(s, Category.ELEVES)
        obsolete = next(a for a in s.directory.accounts(UAI) if a.login == obsolete.login)
        assert s.link_check("0" * 16)(obsolete) == "holds"


def test_a_guardians_children_in_the_file_with_their_accounts(site):
    with session(site) as s:
        to(s, Category.RESPONSABLES)
        guardians = [d.pronote for d in s.current.match.decisions]
        some = next(g for g in guardians if s.children_in_file(g))
        children = s.children_in_file(some)
        students = s.state(Category.ELEVES)
        for child, login in children:
            assert some.file_key in child.guardian_keys
            assert login == students.link_of(child.idpn)
        assert any(login for _, login in children)
        lonely = [g for g in guardians if not g.file_key or not s.children_in_file(g)]
        assert all(s.children_in_file(g) == [] for g in lonely)


def test_the_file_directories_count_what_the_search_would_find(site):
    csv = CsvDirectory(site / "annuaire.csv")
    found = csv.search("a", limit=10_000)
    assert len(found) > 20
    assert csv.count("a") == len(found)
    assert csv.count("a", cap=7) == 7
    assert csv.count("a", uai=UAI, category=Category.ELEVES) == len(
        csv.search("a", uai=UAI, category=Category.ELEVES, limit=10_000)
    )
    assert csv.count("zzzz") == 0


def test_an_ldif_export_counts_too(tmp_path):
    ldif = tmp_path / "export.ldif"
    entries = []
    for n in range(60):
        entries.append(
            f"dn: uid=martin{n},ou=people,dc=example,dc=org\n"
            "objectClass: inetOrgPerson\nobjectClass: ENTPerson\n"
            f"uid: martin{n}\nsn: MARTIN\ngivenName: Lea{n}\ncn: x\n"
            "ENTPersonProfils: National_ELV\nENTPersonStructRattach: 0441234A\n"
        )
    ldif.write_text("\n".join(entries), encoding="utf-8")
    directory = LdifDirectory(ldif, mapping=AttributeMapping.build("ent"))
    assert len(directory.search("martin", limit=100)) == 60
    assert directory.count("martin") == 60
    assert directory.count("martin", cap=10) == 10
