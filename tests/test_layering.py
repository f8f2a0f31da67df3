"""Dependencies point inwards: bot -> storage -> surveys; the domain imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "surveys": {
        "storage",
        "bot",
        "aiogram",
        "slack_bolt",
        "slack_sdk",
        "sqlalchemy",
        "sqlmodel",
        "redis",
        "aiohttp",
        "asyncio",
    },
    "storage": {"bot", "aiogram", "slack_bolt", "slack_sdk", "aiohttp"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_inwards(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in files
    }
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text("from bot.runner import SurveyRunner\nimport redis.asyncio\n")
    assert imported_roots(module) == {"bot", "redis"}
