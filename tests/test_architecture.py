"""Import direction, enforced: the engine never imports the policy pack or the CLI.

Like sqlfluff's import-linter contract: `tfcheck/` is the engine, `policies/` a pack
that depends on it, and only `tfcheck/cli.py` (and the renderers) know typer and rich.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

ENGINE_FILES = sorted((REPO / "tfcheck").rglob("*.py"))
POLICY_FILES = sorted((REPO / "policies").rglob("*.py"))
UI_MODULES = ("typer", "rich", "click")
UI_ALLOWED = {"tfcheck/cli.py", "tfcheck/report/pretty.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_engine_does_not_import_policies_or_ui(path: Path) -> None:
    relative = str(path.relative_to(REPO))
    for module in imported_modules(path):
        assert not module.startswith(("tfcheck_policies", "policies")), (
            f"{relative} imports {module}: the engine must not depend on a policy pack")
        if relative not in UI_ALLOWED:
            assert not module.startswith(UI_MODULES), f"{relative} imports {module}"
        if relative not in ("tfcheck/cli.py", "tfcheck/launcher.py"):  # the console script
            assert module != "tfcheck.cli", f"{relative} imports the CLI"


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_policies_use_the_graph_api_not_networkx_or_parsers(path: Path) -> None:
    for module in imported_modules(path):
        assert not module.startswith(("networkx", "hcl2", "lark", "typer", "rich")), (
            f"{path.name} imports {module}: policies use tfcheck's queries only")
