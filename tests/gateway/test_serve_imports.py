"""`edgegraph serve` loads none of the demo: not strawberry, the backends, or the resolvers."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.fixtures.federation import cases as fixture_cases

_DEMO_MODULES = ("demo", "schema", "resolvers", "backends", "strawberry", "aiodataloader")

_PROGRAM = """
import json, sys
import gateway
from federation.supergraph.model import load_supergraph
app = gateway.create_app(load_supergraph(sys.stdin.read()))
print(json.dumps(sorted(sys.modules)))
"""


def test_serve_app_imports_no_demo_module() -> None:
    sdl = fixture_cases.supergraph_sdl("requires")
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], input=sdl, capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    demo = [m for m in loaded if m.split(".")[0] in _DEMO_MODULES]
    assert demo == [], f"the serve path imported {demo}"
    assert "gateway" in loaded and "edge.endpoint" in loaded


def test_serve_help_imports_no_demo_module() -> None:
    program = (
        "import json, sys, contextlib, io\n"
        "import gateway\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    gateway.main(['serve', '--help'])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in _DEMO_MODULES] == []


def test_engine_and_edge_packages_import_no_demo_module() -> None:
    # Every module of federation/ (composition included: it introspects subgraphs over HTTP)
    # and of edge/, not only those the serve path happens to reach today.
    program = (
        "import importlib, json, pkgutil, sys\n"
        "import edge, federation\n"
        "for package in (federation, edge):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "federation.composition.compose" in loaded and "edge.reload" in loaded
    assert [m for m in loaded if m.split(".")[0] in _DEMO_MODULES] == []
