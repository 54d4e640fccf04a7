"""ruff, mypy and the layer contracts are part of the test suite.

Each tool runs through this interpreter (`python -m ...`), never a PATH lookup, so a
missing tool is a failure naming the install command, not a silent skip.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from .conftest import REPO

INSTALL_HINT = "install the test dependencies: pip install -e '.[test]'"


def run_module(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed in {sys.executable}: {INSTALL_HINT}")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=600)


def test_ruff_is_clean() -> None:
    result = run_module("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run_module("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_layer_contracts_hold() -> None:
    """The contracts in pyproject.toml ([tool.importlinter]): engine layers, pack isolation."""
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail(f"import-linter is not installed in {sys.executable}: {INSTALL_HINT}")
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.argv = ['lint-imports']; lint_imports_command()"],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
