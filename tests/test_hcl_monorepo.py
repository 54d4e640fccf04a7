"""A monorepo scan (a directory of root modules) uses every core, and finds exactly what
scanning each root on its own finds: the roots in forked worker processes, or in this
process with their files parsed ahead together in parse workers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfcheck import engine
from tfcheck.engine import ScanOptions, scan
from tfcheck.hcl import parsing
from tfcheck.model import Severity
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.registry import load_policies

from .conftest import FIXTURES

ROOTS = ["pc2-public-node-group", "pc3-endpoints-module-for-each",
         "pc3-registry-style-modules", "pc4-custom-networking-pod-subnets"]


def _monorepo(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    (top / ".git").mkdir(parents=True)
    for name in ROOTS:
        shutil.copytree(FIXTURES / "hcl-policies" / name, top / "stacks" / name, symlinks=True)
    return top


def test_a_monorepo_scanned_in_one_process_parses_its_roots_together(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path)
    monkeypatch.setattr(engine, "_roots_in_workers", lambda inputs: False)
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


def test_roots_scanned_in_worker_processes_give_the_same_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path)
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    original = engine._scan_input

    def recording(job: engine._Job, item: object) -> object:
        part = original(job, item)  # type: ignore[arg-type]
        part[0].notes.append(f"pid {os.getpid()} {item}")  # where the part was made
        return part

    monkeypatch.setattr(engine, "_scan_input", recording)
    progress: list[tuple[int, int]] = []
    options = ScanOptions(cache=False, progress=lambda n, total, _: progress.append((n, total)))
    in_workers = scan([str(top / "stacks")], options=options)
    scanned_in = [int(n.split()[1]) for n in in_workers.notes if n.startswith("pid ")]
    assert len(scanned_in) == len(ROOTS) and os.getpid() not in scanned_in
    assert sorted(progress) == [(n, len(ROOTS)) for n in range(1, len(ROOTS) + 1)]

    monkeypatch.setattr(engine, "_roots_in_workers", lambda inputs: False)
    here = scan([str(top / "stacks")], options=ScanOptions(cache=False))
    assert {int(n.split()[1]) for n in here.notes if n.startswith("pid ")} == {os.getpid()}
    assert in_workers.findings == here.findings and in_workers.findings
    assert in_workers.inputs == here.inputs
    assert in_workers.input_errors == here.input_errors
    assert in_workers.internal_errors == here.internal_errors
    assert ([n for n in in_workers.notes if not n.startswith("pid ")]
            == [n for n in here.notes if not n.startswith("pid ")])


@policy(id="PC903", slug="raises-on-one-root", severity=Severity.LOW, title="raises")
def raises_on_one_root(ctx: ScanContext) -> Iterator[Result]:
    """A policy with a bug that shows on one root only."""
    if ctx.graph.source.endswith(ROOTS[1]):
        raise RuntimeError("boom")
    yield from ()


def test_a_policy_that_raises_in_a_worker_is_reported_as_in_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path)
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    policies = [raises_on_one_root, *load_policies()[0]]
    in_workers = scan([str(top / "stacks")], options=ScanOptions(cache=False),
                      policies=policies)
    monkeypatch.setattr(engine, "_roots_in_workers", lambda inputs: False)
    here = scan([str(top / "stacks")], options=ScanOptions(cache=False), policies=policies)
    assert [e.message for e in in_workers.internal_errors] == ["RuntimeError('boom')"]
    assert [e.where for e in in_workers.internal_errors] == [e.where for e in here.internal_errors]
    assert in_workers.findings == here.findings
