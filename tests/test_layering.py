"""The layering contract, checked over every module: ``cogs -> knowledge -> index``.

Only ``cogs/`` may import discord; ``knowledge/`` and ``index/`` never import
``cogs`` or the runner; ``index/`` never imports ``knowledge``; nothing in the
product imports the test Discord or the benchmarks. A violation fails the build.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: dict[str, set[str]] = {
    "index": {"discord", "cogs", "knowledge", "senpai", "localdiscord", "bench", "aiohttp"},
    "knowledge": {"discord", "cogs", "senpai", "localdiscord", "bench", "aiohttp"},
    "cogs": {"senpai", "localdiscord", "bench"},
    "senpai": {"bench"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_across_the_layers(package: str):
    assert modules(package), f"{package}/ has no modules: is the layout still the same?"
    broken = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in modules(package)
        if imported_roots(path) & FORBIDDEN[package]
    }
    assert broken == {}


def test_the_checker_sees_a_violation(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("import discord.ext\nfrom cogs.render import x\nfrom . import y\n")
    assert imported_roots(bad) == {"discord", "cogs"}
