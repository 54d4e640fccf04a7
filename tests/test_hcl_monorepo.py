"""A monorepo scan (a directory of root modules) parses them together, on every core,
and finds exactly what scanning each root on its own finds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tfcheck.engine import ScanOptions, scan
from tfcheck.hcl import parsing

from .conftest import FIXTURES

ROOTS = ["pc2-public-node-group", "pc3-endpoints-module-for-each",
         "pc3-registry-style-modules", "pc4-custom-networking-pod-subnets"]


def test_a_monorepo_scan_finds_what_each_root_finds_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    for name in ROOTS:
        shutil.copytree(FIXTURES / "hcl-policies" / name, top / "stacks" / name, symlinks=True)
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 2)  # these small roots: in the workers too
    pooled: list[int] = []
    end = parsing.end_parsing

    def recording_end(token: object) -> None:
        parser = parsing.current_parser()
        pooled.append(parser.pooled if parser is not None else -1)
        end(token)  # type: ignore[arg-type]

    monkeypatch.setattr(parsing, "end_parsing", recording_end)
    options = ScanOptions(cache=False)
    together = scan([str(top / "stacks")], options=options)
    # every file in a worker, but the one alone on its level (modules/eks/modules/mng)
    assert pooled[0] == sum(1 for _ in (top / "stacks").rglob("*.tf")) - 1
    assert not together.input_errors and together.findings
    for name in ROOTS:
        alone = scan([str(top / "stacks" / name)], options=options)
        mine = [f for f in together.findings if f.input_path == alone.findings[0].input_path]
        assert sorted(mine, key=repr) == sorted(alone.findings, key=repr), name
    assert len(together.findings) == sum(
        len(scan([str(top / "stacks" / n)], options=options).findings) for n in ROOTS)
