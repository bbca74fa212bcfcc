"""The environment the tests run in is exactly the lock: no version nobody here ran.

`make test` installs from requirements-dev.lock with hashes and without
dependencies; these tests fail if anything else got in (a range resolved
anew, a package installed by hand) or if the two locks disagree.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
# What a venv holds before anything is installed, and the project itself.
NOT_LOCKED = {"pip", "idpronote"}


def pins(lock: Path) -> dict[str, str]:
    """The lock's name -> version for this interpreter and platform (markers evaluated)."""
    found: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        found[canonicalize_name(name)] = version
    return found


def installed() -> dict[str, str]:
    return {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]
    }


def test_every_installed_distribution_is_the_locked_version():
    locked = pins(ROOT / "requirements-dev.lock")
    here = installed()
    wrong = {
        n: (v, locked.get(n)) for n, v in here.items() if n not in NOT_LOCKED and locked.get(n) != v
    }
    assert not wrong, f"installed (version, locked version) outside the lock: {wrong}"
    missing = set(locked) - set(here)
    assert not missing, f"locked but not installed: {missing}"


def test_the_two_locks_agree_and_cover_the_ranges():
    runtime = pins(ROOT / "requirements.lock")
    dev = pins(ROOT / "requirements-dev.lock")
    assert runtime, "requirements.lock holds no pin"
    for name, version in runtime.items():
        assert dev.get(name) == version, f"{name}: {version} in requirements.lock, {dev.get(name)}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        pool = runtime if requirement in declared[: len(project["dependencies"])] else dev
        assert name in pool, f"{name} is a dependency but not locked"
        assert requirement.specifier.contains(pool[name], prereleases=True), (
            f"{name}=={pool[name]} is outside pyproject's range {requirement.specifier}"
        )


def test_every_pin_carries_hashes():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
        for block in blocks:
            if PIN.match(block.splitlines()[0]):
                assert "--hash=sha256:" in block, f"{lock}: no hash for {block.splitlines()[0]}"
