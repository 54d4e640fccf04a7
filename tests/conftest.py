"""Shared test helpers: where the repository, its fixtures and ../shared live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
SHARED = REPO.parent / "shared"


def run_tfcheck(*args: str, cwd: Path | None = None, stdin: bytes | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, as a user runs it (exit codes, stderr, no traceback)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tfcheck.cli", *args], cwd=cwd or REPO, input=stdin,
        capture_output=True, env=full_env, check=False, timeout=300,
    ) if stdin is not None else subprocess.run(
        [sys.executable, "-m", "tfcheck.cli", *args], cwd=cwd or REPO, text=True,
        capture_output=True, env=full_env, check=False, timeout=300,
    )


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: CI and developers have shared/ beside the checkout")
    return SHARED


@pytest.fixture(autouse=True, scope="session")
def _parse_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Scans in tests keep their parse cache in a temporary directory, not ~/.cache."""
    os.environ.setdefault("TFCHECK_CACHE_DIR", str(tmp_path_factory.mktemp("parse-cache")))
