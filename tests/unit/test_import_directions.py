"""The doors run one way (DESIGN.md): frontend -> backend over HTTP only (it may import the
metric catalogue, a table of names with no dependencies), worker -> backend, backend never
imports worker or frontend. backend/cli.py is the one composition root."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = ROOT / "backend" / "cli.py"
FORBIDDEN = {
    "backend": {"worker", "frontend"},
    "frontend": {"worker", "backend"},
    "worker": {"frontend"},
}
# the catalogue (names, labels, formats): it imports nothing of the backend's state
ALLOWED = {"backend.metrics"}


def imported_modules(path: Path) -> set[str]:
    """Modules a file imports, lazily (inside functions) or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a file imports, leaving out the modules every room may import."""
    return {m.split(".")[0] for m in imported_modules(path) - ALLOWED}


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if p != COMPOSITION_ROOT)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_door_allows(package: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in _modules(package)
    }
    assert {path: bad for path, bad in offending.items() if bad} == {}


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from worker.runner import WorkerLoop\n    import frontend.app\n"
    )
    assert imported_packages(module) == {"worker", "frontend"}


def test_the_cli_is_the_composition_root() -> None:
    assert {"worker", "frontend"} <= imported_packages(COMPOSITION_ROOT)
