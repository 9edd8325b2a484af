"""The hostile corpus and the `hostmap` runs on it that several test modules check.

Runs are made once per session, two per core at a time (at least four), each
a child of the session's zygote (tests/hostile/_zygote.py: hostmap imported
once, then forked per run), and shared: the per-file `analyze` runs, the
`sanitize` runs, and the runs over the names/ and secrets/ folders (analyze
as text and JSON, map in every format).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import harness
from tests.hostile.build_corpus import Hostile

MAP_FORMATS = ("html", "dot", "gexf", "graphml", "mermaid", "md", "cytoscape", "stix", "json",
               "text")
"""Every `hostmap map -f` format that is text; svg and png need Graphviz (added when present)."""
SANITIZED_SUFFIXES = (".har", ".mitm", ".saz")
FOLDER_RUN_SECONDS = 300.0
FILE_RUN_SECONDS = 180.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a minute; runs with HOSTMAP_SLOW=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("HOSTMAP_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow (over a minute): set HOSTMAP_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def map_formats() -> tuple[str, ...]:
    return MAP_FORMATS + (("svg",) if shutil.which("dot") else ())


def per_file_inputs() -> tuple[Hostile, ...]:
    """Files analyzed one by one: all but names/ and secrets/, which are read as folders."""
    _, files = harness.corpus()
    return tuple(f for f in files if not f.name.startswith(("names/", "secrets/"))
                 or f.name == "names/reverse-ip-192.0.2.73.txt")


def sanitized_inputs() -> tuple[Hostile, ...]:
    _, files = harness.corpus()
    return tuple(f for f in files if Path(f.name).suffix in SANITIZED_SUFFIXES)


@dataclass(frozen=True)
class Runs:
    root: Path
    analyzed: dict[str, harness.Run]
    """`hostmap analyze FILE` (text) per file of `per_file_inputs`."""
    sanitized: dict[str, harness.Run]
    """`hostmap sanitize FILE OUT` per HAR, mitmproxy and SAZ file; OUT is in `outputs`."""
    folders: dict[str, harness.Run]
    """Over names/ and secrets/ together: 'analyze', 'analyze --json', 'map FORMAT'."""
    shown: harness.Run
    """`hostmap analyze --json --show-secrets secrets/`: the control for the canary tests."""


@pytest.fixture(scope="session")
def runs() -> Runs:
    root, _ = harness.corpus()
    out = harness.scratch() / "outputs"
    out.mkdir(exist_ok=True)
    folders = (root / "names", root / "secrets")
    commands: list[tuple[str, list[object], list[Path], float]] = []
    for item in per_file_inputs():
        commands.append((f"analyze {item.name}", ["analyze", root / item.name], [],
                         FILE_RUN_SECONDS))
    for item in sanitized_inputs():
        target = out / ("clean-" + item.name.replace("/", "-"))
        commands.append((f"sanitize {item.name}", ["sanitize", root / item.name, target],
                         [target], FILE_RUN_SECONDS))
    commands.append(("analyze", ["analyze", *folders], [], FOLDER_RUN_SECONDS))
    commands.append(("analyze --json", ["analyze", "--json", *folders], [], FOLDER_RUN_SECONDS))
    for name in map_formats():
        target = out / f"map.{name}"
        commands.append((f"map {name}", ["map", "-f", name, "-o", target, *folders], [target],
                         FOLDER_RUN_SECONDS))
    commands.append(("shown", ["analyze", "--json", "--show-secrets", root / "secrets"], [],
                     FOLDER_RUN_SECONDS))
    # Longest first (the bombs, then the runs over whole folders), so that no long run
    # starts last while the other worker sits idle.
    commands.sort(key=lambda command: ("bombs/" not in command[0],
                                       command[0].count("/") > 0))
    done = harness.run_many([(argv, outputs, timeout) for _, argv, outputs, timeout in commands])
    by_key = {key: run for (key, *_), run in zip(commands, done, strict=True)}
    return Runs(
        root=root,
        analyzed={k.removeprefix("analyze "): r for k, r in by_key.items()
                  if k.startswith("analyze ") and k != "analyze --json"},
        sanitized={k.removeprefix("sanitize "): r for k, r in by_key.items()
                   if k.startswith("sanitize ")},
        folders={k: r for k, r in by_key.items()
                 if k in ("analyze", "analyze --json") or k.startswith("map ")},
        shown=by_key["shown"],
    )
