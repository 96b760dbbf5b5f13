"""requirements.lock makes "pinned" true: every dependency in pyproject.toml is pinned there
within its range, and the environment running the tests is the one the lock describes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            found = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line)
            assert found, f"not a pin: {line!r}"
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    raw = project["dependencies"] + [text for texts in extras for text in texts]
    requirements = [Requirement(text) for text in raw]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": "dev"})]


def test_lock_pins_every_dependency_within_its_range() -> None:
    pins = _pins()
    problems = []
    for requirement in _requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(pin, prereleases=True):
            problems.append(f"{requirement.name}=={pin} is outside {requirement.specifier}")
    assert problems == [], f"{problems}: run `make lock` after changing pyproject.toml"


def test_lock_is_what_is_installed() -> None:
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    wrong = {name: (pin, installed.get(name)) for name, pin in _pins().items()
             if installed.get(name) != pin}  # fmt: skip
    assert wrong == {}, "installed versions differ from requirements.lock (pin, installed)"
