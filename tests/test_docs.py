"""README, --help and the code say the same thing."""

from __future__ import annotations

import re
import subprocess

import click

from hostmap.cli import main
from hostmap.ingest import READERS
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_has_help_and_is_in_the_readme():
    for name, command in main.commands.items():
        assert command.help, f"`hostmap {name}` has no help"
        assert f"hostmap {name}" in README, name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"
                assert any(opt in README for opt in param.opts if opt.startswith("--")), \
                    f"{name} {param.opts} is not in the README"


def test_every_reader_is_in_the_readme_format_table():
    for reader in READERS:
        assert re.search(rf"^\| `{re.escape(reader.format)}` \|", README, re.M), reader.format


def test_every_reader_has_a_mirrored_test_file():
    for reader in READERS:
        module = type(reader).__module__.rsplit(".", 1)[-1]
        assert (REPO / "tests" / "ingest" / f"test_{module}.py").is_file(), module


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert test_command.strip() in ci


def test_python_m_hostmap_runs_the_cli():
    result = subprocess.run([__import__("sys").executable, "-m", "hostmap", "--version"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "hostmap" in result.stdout
