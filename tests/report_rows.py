"""The report of `apply` against the directory it wrote to, row by row.

Used on the CSV file (tests/test_cli_session.py), an LDIF export
(tests/adapters/test_ldif_commands.py) and a real slapd
(tests/ldap/test_ldap_wizard.py): `before` and `after` are every account's
identifiers for the establishment, read straight from the directory.
"""

from __future__ import annotations

from collections import Counter

Stored = dict[str, frozenset[str]]


def check_report_rows(before: Stored, after: Stored, report: dict) -> Counter:
    """Every change of the directory is one row of the report, every row says what the
    directory holds now, and the counts add up; returns what changed, by kind."""
    explained: dict[str, str] = {}
    totals: Counter = Counter()
    for step in report["steps"]:
        counts: Counter = Counter()
        for row in step["accounts"]:
            login, idpn, previous = row["account"], row["idpn"], row["previous"]
            if not row["written"]:
                # Not written by this run: the account holds it now only if it did before.
                assert login is None or (idpn in after[login]) == (idpn in before[login]), row
                continue
            counts["written"] += 1
            assert idpn in after[login], row
            if previous is not None and idpn not in before[login]:
                # The stale value it replaced is gone, and was there before.
                assert previous in before[login] and previous not in after[login], row
                counts["replaced"] += 1
                explained[login] = "replaced"
            elif idpn not in before[login]:
                assert before[login] == frozenset(), row
                explained[login] = "added"
        for row in step["obsolete"]:
            login, idpn = row["account"], row["idpn"]
            assert idpn in before[login], row
            if row["written"]:
                assert row["action"] == "remove" and idpn not in after[login], row
                counts["removed"] += 1
                explained[login] = "removed"
            else:
                assert idpn in after[login], row  # kept, or a removal that failed
                counts["kept"] += row["action"] == "keep"
        for key in ("written", "replaced", "removed", "kept"):
            assert step["counts"][key] == counts[key], (step["category"], key)
        assert step["counts"]["obsolete"] == len(step["obsolete"])
        totals.update(counts)
    for key in ("written", "replaced", "removed", "kept"):
        assert report["summary"][key] == totals[key], key
    changed = {
        login
        for login in before.keys() | after.keys()
        if before.get(login, frozenset()) != after.get(login, frozenset())
    }
    assert changed == set(explained), sorted(changed ^ set(explained))
    return Counter(explained.values())
