"""How often a scan touches each `.tf` file: once read, resolved once per pass over it.

Counts, never times (issue 10): the parse-ahead pass (`modules.prefetch`) and the load
share what the first one read, and a module called from many places is listed, resolved
and read once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tfcheck.hcl import modules, parsing
from tfcheck.hcl.parsing import Parser
from tfcheck.loaders.hcl import load_hcl


def _tree(root: Path) -> Path:
    """A root calling one module three times; the module calls another."""
    (root / "modules" / "net").mkdir(parents=True)
    (root / "modules" / "sub").mkdir(parents=True)
    calls = "".join(f'module "net{n}" {{\n  source = "./modules/net"\n}}\n' for n in range(3))
    (root / "main.tf").write_text(calls)
    (root / "vars.tf").write_text('variable "v" {\n  default = 1\n}\n')
    (root / "modules" / "net" / "main.tf").write_text(
        'module "sub" {\n  source = "../sub"\n}\nresource "aws_vpc" "v" {\n'
        '  cidr_block = "10.0.0.0/16"\n}\n')
    (root / "modules" / "net" / "out.tf").write_text('output "id" {\n  value = aws_vpc.v.id\n}\n')
    (root / "modules" / "sub" / "main.tf").write_text(
        'resource "aws_subnet" "s" {\n  vpc_id = "x"\n}\n')
    return root


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[Counter[Path], Counter[Path]]:
    """(reads, resolutions) of each file by the module loader and the parse-ahead pass."""
    reads: Counter[Path] = Counter()
    resolutions: Counter[Path] = Counter()
    read, resolve = modules.read_resolved, modules.resolve_inside

    def counting_read(target: Path, limit: int = 0) -> bytes:
        reads[target] += 1
        return read(target, limit)

    def counting_resolve(path: Path, roots: set[Path]) -> Path:
        resolved = resolve(path, roots)
        resolutions[resolved] += 1
        return resolved

    monkeypatch.setattr(modules, "read_resolved", counting_read)
    monkeypatch.setattr(modules, "resolve_inside", counting_resolve)
    return reads, resolutions


def test_each_file_is_read_once_and_resolved_once_per_pass(
        tmp_path: Path, counted: tuple[Counter[Path], Counter[Path]]) -> None:
    root = _tree(tmp_path)
    reads, resolutions = counted
    parser = Parser(workers=2)
    modules.prefetch([modules.ConfigLoader(root, parser=parser)])
    loaded = load_hcl(root, parser=parser)
    parser.close()
    files = sorted(p.resolve() for p in root.rglob("*.tf"))
    assert len(loaded.graph.resources()) == 6 and not loaded.errors
    assert sorted(reads) == files and set(reads.values()) == {1}
    assert sorted(resolutions) == files and set(resolutions.values()) == {2}  # ahead + load


def test_a_load_without_parse_ahead_reads_each_file_once(
        tmp_path: Path, counted: tuple[Counter[Path], Counter[Path]]) -> None:
    root = _tree(tmp_path)
    reads, resolutions = counted
    loaded = load_hcl(root, parser=Parser(workers=1))
    assert len(loaded.graph.resources()) == 6
    assert set(reads.values()) == {1} and set(resolutions.values()) == {1}


def test_a_file_refused_is_reported_once_however_often_its_module_is_called(
        tmp_path: Path) -> None:
    root = _tree(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.tf"
    outside.write_text('resource "aws_vpc" "o" {\n}\n')
    (root / ".git").mkdir()  # the root is the repository: `outside` is beyond it
    (root / "modules" / "net" / "linked.tf").symlink_to(outside)
    loaded = load_hcl(root, parser=Parser(workers=1))
    assert [(e.path, e.message) for e in loaded.errors] == [
        ("modules/net/linked.tf", "file is outside the scanned root: not read")]


def test_the_scan_parses_ahead_through_the_same_loader_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        counted: tuple[Counter[Path], Counter[Path]]) -> None:
    root = _tree(tmp_path)
    reads, _ = counted
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    token = parsing.begin_parsing(False, [root])
    loaded = load_hcl(root)
    parsing.end_parsing(token)
    assert len(loaded.graph.resources()) == 6 and set(reads.values()) == {1}
