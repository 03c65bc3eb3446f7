"""The architecture is checked, not just described: the import contracts hold, they are
live (a wrong import breaks them), and every module imports on its own."""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import relaypacs

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(relaypacs.__file__).resolve().parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(cwd / ".importlinter")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break on purpose."""
    shutil.copytree(PACKAGE, tmp_path / "relaypacs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_copy_used_below_passes_unchanged(package_copy: Path) -> None:
    result = _lint_imports(package_copy, pythonpath=package_copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_import_or_a_cycle_breaks_the_contracts(package_copy: Path) -> None:
    package = package_copy / "relaypacs"
    wrong = {
        # Lower layers importing higher ones, and a domain importing the flows above it.
        "uploads/_wrong.py": "relaypacs.reports.service",
        "core/_wrong.py": "relaypacs.auth.models",
        "pacs/_wrong.py": "relaypacs.flows.delivery",
        # Two modules of one package importing each other.
        "notifications/_ping.py": "relaypacs.notifications._pong",
        "notifications/_pong.py": "relaypacs.notifications._ping",
    }
    for module, imports in wrong.items():
        (package / module).write_text(f"import {imports}  # noqa\n")
    result = _lint_imports(package_copy, pythonpath=package_copy)
    out = result.stdout
    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in out
    for lower in ("uploads", "core", "pacs"):
        assert f"relaypacs.{lower} is not allowed to import" in out
    assert "relaypacs.uploads._wrong -> relaypacs.reports.service" in out
    assert "relaypacs.pacs._wrong -> relaypacs.flows.delivery" in out
    assert "No cycles are allowed in relaypacs.notifications" in out


def test_a_new_package_without_a_layer_is_refused(package_copy: Path) -> None:
    (package_copy / "relaypacs" / "billing").mkdir()
    (package_copy / "relaypacs" / "billing" / "__init__.py").write_text("")
    result = _lint_imports(package_copy, pythonpath=package_copy)
    assert result.returncode != 0
    assert "relaypacs.billing" in result.stdout + result.stderr


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(relaypacs.__path__, prefix="relaypacs.")
        if ".migrations" not in m.name
    )


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """`python -c "import relaypacs.pacs.worker"` used to fail (an import cycle that only
    api.py's import order hid). Each module is imported first, alone, in a child process."""
    modules = _modules()
    assert "relaypacs.pacs.worker" in modules and "relaypacs.flows.delivery" in modules
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("import_each.py")), *modules],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
