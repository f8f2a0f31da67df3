"""CI runs the README's test command, with the plugins it needs in the dev extra."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def section(title: str) -> str:
    return (ROOT / "README.md").read_text().split(f"\n## {title}\n")[1].split("\n## ")[0]


def ci_test_command() -> str:
    (command,) = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.startswith("pytest")
    ]
    return command


def test_ci_runs_the_test_command_the_readme_gives() -> None:
    command = ci_test_command()
    assert f"* `{command}`" in section("Development")
    assert f"\n{command}\n" in section("Quick start")


def test_the_test_commands_plugins_are_in_the_dev_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = {Requirement(line).name for line in pyproject["project"]["optional-dependencies"]["dev"]}
    words = shlex.split(ci_test_command())
    if "-n" in words or "--dist" in words:
        assert "pytest-xdist" in dev
    assert "pytest-asyncio" in dev  # asyncio_mode = "auto" in [tool.pytest.ini_options]
