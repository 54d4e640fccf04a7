"""The parse cache and the parallel parse: same results by every route, hostile entries ignored."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from tests.conftest import FIXTURES, run_tfcheck
from tfcheck.hcl import cache as cache_module
from tfcheck.hcl import parsing
from tfcheck.hcl.cache import ParseCache, decode_entry, encode_entry, key_of
from tfcheck.hcl.parse import HclSyntaxError, decode, parse_hcl
from tfcheck.hcl.parsing import Parser
from tfcheck.loaders.hcl import load_hcl

SAMPLE = b'''
# tfcheck:ignore PC101 reason="test"
resource "aws_eks_cluster" "main" {
  name     = "c-${var.env}"
  role_arn = aws_iam_role.r.arn
  vpc_config {
    subnet_ids              = [for s in aws_subnet.p : s.id if s.tags["x"] != null]
    endpoint_public_access  = var.public ? true : false
    security_group_ids      = concat(local.a[*].id, [module.m.out["k"]]...)
  }
  tags = { Name = "x", "n-${each.key}" = -1.5 * 2 % 3 }
  user_data = <<-EOT
    %{ if var.x }on%{ else }off%{ endif }
    %{ for k, v in var.m }${k}=${v}%{ endfor }
  EOT
}
locals {
  big = 12345678901234567890123
}
'''


def test_every_ast_field_has_an_encoding() -> None:
    for cls, kinds in {**cache_module.EXPRESSIONS, **cache_module.TEMPLATE_DIRECTIVES}.items():
        assert len(kinds) == len(msgspec.structs.fields(cls)), cls.__name__


def test_entry_round_trips_exactly(tmp_path: Path) -> None:
    parsed = parse_hcl(decode(SAMPLE.replace(b"12345678901234567890123", b"7")), "a.tf")
    key = key_of(SAMPLE)
    again = decode_entry(encode_entry(key, parsed), key, "b.tf")
    assert again == msgspec.structs.replace(parsed, path="b.tf")


def test_a_literal_msgpack_cannot_hold_is_not_cached(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    parsed = parse_hcl(decode(SAMPLE), "a.tf")  # an integer beyond 64 bits
    cache.put(SAMPLE, parsed)
    assert cache.get(SAMPLE, "a.tf") is None and cache.writes == 0


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign", "wrong-type", "empty"])
def test_a_damaged_entry_is_ignored_and_rewritten(tmp_path: Path, damage: str) -> None:
    data = SAMPLE.replace(b"12345678901234567890123", b"7")
    cache = ParseCache(tmp_path)
    parsed = parse_hcl(decode(data), "a.tf")
    cache.put(data, parsed)
    entry = cache.root / (key_of(data) + ".msgpack")
    raw = entry.read_bytes()
    other = encode_entry(key_of(b"other"), parsed)
    entry.write_bytes({
        "truncate": raw[: len(raw) // 2],
        "garbage": b"\xc1\x00" + raw,
        "foreign": other,  # a valid entry of another file's key
        "wrong-type": raw.replace(b"aws_eks_cluster", b"aws_eks_clusteR").replace(
            b"\x93", b"\x94", 1),
        "empty": b"",
    }[damage])
    assert ParseCache(tmp_path).get(data, "a.tf") in (None, parsed)
    if damage != "wrong-type":
        assert ParseCache(tmp_path).get(data, "a.tf") is None
    fresh = Parser(ParseCache(tmp_path), workers=1)
    assert fresh.parse(data, "a.tf") == parsed
    assert ParseCache(tmp_path).get(data, "a.tf") == parsed  # rewritten


def test_an_entry_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    import msgspec

    key = key_of(b"x")
    bad_node = ["tfcheck-hcl-parse", key, [[["a", "a", [999, 1], 1, None]], []], [], []]
    not_expr = ["tfcheck-hcl-parse", key, [[["a", "a", [15, [0, "x", 1], [], []], 1, None]],
                                            []], [], []]
    for payload in (bad_node, not_expr, [1, 2, 3], {"a": 1}):
        assert decode_entry(msgspec.msgpack.encode(payload), key, "a.tf") is None


# A well-typed value of each field kind, and one of the wrong type for it.
_GOOD = {"expr": [1, "x", 1, 1], "expr?": None, "str": "s", "str?": None, "int": 3,
         "bool": True, "scalar": 1.5, "exprs": [], "pairs": [], "parts": ["t"]}
_WRONG = {"expr": "x", "expr?": 3, "str": 3, "str?": 3, "int": True, "bool": 1,
          "scalar": [1], "exprs": "x", "pairs": [[1]], "parts": [3]}


def test_every_field_of_every_node_is_checked() -> None:
    import msgspec

    key = key_of(b"x")
    specs = {**cache_module.EXPRESSIONS, **cache_module.TEMPLATE_DIRECTIVES}
    tags = {cls: tag for tag, cls in enumerate(specs)}

    def entry(node: list[object]) -> bytes:
        template = [tags[cache_module.Template], [node], 1, 1]  # directives live in templates
        return msgspec.msgpack.encode(["tfcheck-hcl-parse", key, [[["a", "a", template, 1,
                                                                   None]], []], [], []])

    for cls, kinds in specs.items():
        good = [tags[cls], *(_GOOD[kind] for kind in kinds)]
        assert decode_entry(entry(good), key, "a.tf") is not None, cls.__name__
        for position, kind in enumerate(kinds, 1):
            wrong = [*good[:position], _WRONG[kind], *good[position + 1:]]
            assert decode_entry(entry(wrong), key, "a.tf") is None, (cls.__name__, kind)
        assert decode_entry(entry(good[:-1]), key, "a.tf") is None, cls.__name__


def test_parse_errors_are_not_cached_and_read_the_same(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    bad = b'resource "a" "b" {\n  x = [1,\n}\n'
    with pytest.raises(HclSyntaxError) as first:
        Parser(cache, workers=1).parse(bad, "bad.tf")
    assert not cache.root.exists() or not list(cache.root.iterdir())
    with pytest.raises(HclSyntaxError) as second:
        Parser(cache, workers=1).parse(bad, "bad.tf")
    assert (first.value.message, first.value.line, first.value.column) == (
        second.value.message, second.value.line, second.value.column)
    assert first.value.line is not None


def test_an_unwritable_cache_directory_degrades_to_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ParseCache(blocker)
    parsed = Parser(cache, workers=1).parse(b"locals {\n a = 1\n}\n", "a.tf")
    assert "a" in parsed.body.blocks[0].body.attributes
    assert not cache.enabled


def test_prune_evicts_the_oldest_entries(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    for number in range(10):
        data = f"locals {{\n  n = {number}\n}}\n".encode()
        cache.put(data, parse_hcl(decode(data), "a.tf"))
        path = cache.root / (key_of(data) + ".msgpack")
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
    cache.prune(max_entries=5)
    left = sorted(p.stat().st_mtime for p in cache.root.iterdir())
    assert len(left) == 4 and left[0] == 1_000_006


def _tree(tmp_path: Path, files: int) -> Path:
    root = tmp_path / "tree"
    (root / "modules" / "m").mkdir(parents=True)
    (root / "main.tf").write_text('module "m" {\n  source = "./modules/m"\n}\n')
    for number in range(files):
        (root / "modules" / "m" / f"f{number:03}.tf").write_text(
            f'resource "aws_sqs_queue" "q{number}" {{\n  name = "q-${{{number} + 1}}"\n}}\n')
    (root / "modules" / "m" / "broken.tf").write_text('resource "x" "y" {\n  a = (\n}\n')
    return root


def test_worker_processes_give_the_same_load(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, 40)
    alone = load_hcl(root, parser=Parser(workers=1))
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 4)
    parser = Parser(workers=2)
    from tfcheck.hcl.modules import ConfigLoader, prefetch

    prefetch([ConfigLoader(root, parser=parser)])
    pooled = load_hcl(root, parser=parser)
    parser.close()
    assert parser.pooled == 41  # every file of the module (the root's one is below the bar)
    assert sorted(r.address for r in pooled.graph.resources()) == sorted(
        r.address for r in alone.graph.resources())
    assert pooled.errors == alone.errors
    error = pooled.errors[0]
    assert (error.path, error.line, error.column) == ("modules/m/broken.tf", 3, 1)


def test_cold_warm_and_no_cache_scans_are_byte_identical(tmp_path: Path) -> None:
    env = {"TFCHECK_CACHE_DIR": str(tmp_path / "cache")}
    paths = [str(FIXTURES / "hcl-policies"), str(FIXTURES / "hcl")]
    cold = run_tfcheck("scan", *paths, "--format", "json", env=env)
    entries = list((tmp_path / "cache").rglob("*.msgpack"))
    warm = run_tfcheck("scan", *paths, "--format", "json", env=env)
    none = run_tfcheck("scan", *paths, "--format", "json", "--no-cache",
                       env={"TFCHECK_CACHE_DIR": str(tmp_path / "other")})
    assert entries and not (tmp_path / "other").exists()
    assert '"findings"' in cold.stdout and cold.returncode in (0, 1)
    assert cold.stdout == warm.stdout == none.stdout
    assert cold.stderr == warm.stderr == none.stderr


def test_graph_no_cache_leaves_the_cache_alone(tmp_path: Path) -> None:
    tree = str(FIXTURES / "hcl" / "modules-tree")
    env = {"TFCHECK_CACHE_DIR": str(tmp_path / "cache")}
    skipped = run_tfcheck("graph", tree, "--no-cache", env=env)
    assert skipped.returncode == 0 and not (tmp_path / "cache").exists()
    cached = run_tfcheck("graph", tree, env=env)
    assert cached.stdout == skipped.stdout
    assert list((tmp_path / "cache").rglob("*.msgpack"))


def test_a_fifo_in_the_cache_directory_is_not_read(tmp_path: Path) -> None:
    data = b"locals {\n  a = 1\n}\n"
    cache = ParseCache(tmp_path)
    cache.root.mkdir(parents=True)
    os.mkfifo(cache.root / (key_of(data) + ".msgpack"))
    assert cache.get(data, "a.tf") is None  # returns at once: no blocking open


def test_a_broken_pool_falls_back_to_parsing_in_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, 10)
    parser = Parser(workers=2)
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 1)

    def broken(*_: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr(Parser, "_submit", broken)
    from tfcheck.hcl.modules import ConfigLoader, prefetch

    prefetch([ConfigLoader(root, parser=parser)])
    loaded = load_hcl(root, parser=parser)
    assert parser.workers == 1 and len(loaded.graph.resources()) == 10
    assert [e.line for e in loaded.errors] == [3]


def test_a_monorepo_is_parsed_ahead_in_one_batch(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(5):
        root = tmp_path / f"stack{number}"
        root.mkdir()
        for index in range(15):
            (root / f"f{index}.tf").write_text(f'locals {{\n  v{index} = {number}\n}}\n')
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    roots = sorted(tmp_path.iterdir())
    token = parsing.begin_parsing(False, roots)  # 75 files: over the bar only together
    parser = parsing.current_parser()
    assert parser is not None
    loads = [load_hcl(root) for root in roots]
    parsing.end_parsing(token)
    assert parser.pooled == 75 and parsing.current_parser() is None
    assert all(not load.errors for load in loads)


def test_entries_of_another_version_are_not_read(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"locals {\n  a = 1\n}\n"
    cache = ParseCache(tmp_path)
    cache.put(data, parse_hcl(decode(data), "a.tf"))
    assert cache.get(data, "a.tf") is not None
    monkeypatch.setattr(cache_module, "_salt", lambda: b"tfcheck 9.9 / python-hcl2 8.0")
    assert cache.get(data, "a.tf") is None


def test_concurrent_runs_share_a_cache_safely(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1", "TFCHECK_CACHE_DIR": str(tmp_path / "cache")}
    tree = str(FIXTURES / "hcl-policies")
    runs = [subprocess.Popen([sys.executable, "-m", "tfcheck.cli", "scan", tree, "--format",
                              "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert len({out for out, _ in outputs}) == 1 and b'"findings"' in outputs[0][0]
    left = {p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()}
    assert left and all(name.endswith(".msgpack") for name in left)  # no temporary files
    warm = run_tfcheck("scan", tree, "--format", "json", env={"TFCHECK_CACHE_DIR": str(
        tmp_path / "cache")})
    assert warm.stdout.encode() == outputs[0][0]


def test_once_the_workers_run_later_levels_go_to_them_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "tree"
    (root / "modules" / "m").mkdir(parents=True)
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 4)
    for number in range(6):  # the root level: over the bar
        (root / f"r{number}.tf").write_text(f'locals {{\n  r{number} = {number}\n}}\n')
    (root / "main.tf").write_text('module "m" {\n  source = "./modules/m"\n}\n')
    for number in range(3):  # the module's level: under it, but the workers are running
        (root / "modules" / "m" / f"m{number}.tf").write_text(
            f'resource "aws_sqs_queue" "q{number}" {{\n  name = "q{number}"\n}}\n')
    parser = Parser(workers=2)
    from tfcheck.hcl.modules import ConfigLoader, prefetch

    prefetch([ConfigLoader(root, parser=parser)])
    loaded = load_hcl(root, parser=parser)
    parser.close()
    assert parser.pooled == 10 and len(loaded.graph.resources()) == 3


def test_copies_of_a_file_are_parsed_once(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    roots = []
    for number in range(4):
        root = tmp_path / f"stack{number}"
        (root / "modules" / "copy").mkdir(parents=True)
        (root / "main.tf").write_text('module "copy" {\n  source = "./modules/copy"\n}\n')
        for index in range(5):  # the same five files in every root and in its module
            for place in (root, root / "modules" / "copy"):
                (place / f"f{index}.tf").write_text(
                    f'resource "aws_sqs_queue" "q{index}" {{\n  name = "q{index}"\n}}\n')
        roots.append(root)
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 2)
    monkeypatch.setattr(parsing, "available_cores", lambda: 2)
    token = parsing.begin_parsing(False, roots)
    parser = parsing.current_parser()
    assert parser is not None
    loads = [load_hcl(root) for root in roots]
    parsing.end_parsing(token)
    assert parser.pooled == 6  # main.tf and f0-f4
    for load in loads:  # each copy shown where it is
        assert {(r.address, r.location.file) for r in load.graph.resources()} == {
            *((f"aws_sqs_queue.q{index}", f"f{index}.tf") for index in range(5)),
            *((f"module.copy.aws_sqs_queue.q{index}", f"modules/copy/f{index}.tf")
              for index in range(5))}


def test_workers_hand_back_trees_the_cache_cannot_hold(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, 8)
    (root / "modules" / "m" / "big.tf").write_text(
        'locals {\n  big = 12345678901234567890123\n}\n')  # no msgpack integer holds it
    alone = load_hcl(root, parser=Parser(workers=1))
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 4)
    parser = Parser(ParseCache(tmp_path / "cache"), workers=2)
    from tfcheck.hcl.modules import ConfigLoader, prefetch

    prefetch([ConfigLoader(root, parser=parser)])
    pooled = load_hcl(root, parser=parser)
    parser.close()
    assert parser.pooled == 10  # 8 files, the broken one (an error) and the big literal
    assert len(list((tmp_path / "cache").rglob("*.msgpack"))) == 9  # the 8 and main.tf
    assert sorted(r.address for r in pooled.graph.resources()) == sorted(
        r.address for r in alone.graph.resources())
    assert pooled.errors == alone.errors


@pytest.mark.parametrize("package", ["tfcheck", "python-hcl2", "lark"])
def test_the_key_depends_on_each_version_it_names(package: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    data = b"locals {\n  a = 1\n}\n"
    before = key_of(data)
    real = importlib.metadata.version

    def other(name: str) -> str:
        return "999.0" if name == package else real(name)

    monkeypatch.setattr(importlib.metadata, "version", other)
    cache_module._salt.cache_clear()
    try:
        assert key_of(data) != before
    finally:
        monkeypatch.undo()
        cache_module._salt.cache_clear()
    assert key_of(data) == before


def test_the_key_depends_on_the_parser_source(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"locals {\n  a = 1\n}\n"
    before = key_of(data)
    for name in ("parse.py", "ast.py", "cache.py"):
        (tmp_path / name).write_bytes(b"# another parser\n")
    monkeypatch.setattr(cache_module, "__file__", str(tmp_path / "cache.py"))
    cache_module._salt.cache_clear()
    try:
        assert key_of(data) != before
    finally:
        monkeypatch.undo()
        cache_module._salt.cache_clear()


def test_prune_keeps_the_directory_within_its_byte_bound(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    sizes = []
    for number in range(10):
        data = f"locals {{\n  n = {number}\n}}\n".encode()
        cache.put(data, parse_hcl(decode(data), "a.tf"))
        path = cache.root / (key_of(data) + ".msgpack")
        os.utime(path, (1_000_000 + number, 1_000_000 + number))
        sizes.append(path.stat().st_size)
    bound = sum(sizes) // 2
    cache.prune(max_bytes=bound)
    left = sorted((p.stat().st_mtime, p.stat().st_size) for p in cache.root.iterdir())
    assert sum(size for _, size in left) <= bound * 0.8
    assert left[-1][0] == 1_000_009 and len(left) < 10  # the newest kept, the oldest gone


def test_closing_the_parser_prunes_after_the_workers_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, 12)
    monkeypatch.setattr(parsing, "POOL_MIN_FILES", 4)
    cache = ParseCache(tmp_path / "cache")
    pruned: list[int] = []
    monkeypatch.setattr(ParseCache, "prune", lambda self: pruned.append(self.writes))
    parser = Parser(cache, workers=2)
    from tfcheck.hcl.modules import ConfigLoader, prefetch

    prefetch([ConfigLoader(root, parser=parser)])
    parser.close()
    assert parser.pooled == 13  # 12 files and the broken one
    assert pruned == [13]  # the 12 entries the workers stored, and main.tf's


def _put_many(directory: str) -> int:
    cache = ParseCache(Path(directory))
    for _ in range(20):
        for number in range(5):
            data = f"locals {{\n  n = {number}\n}}\n".encode()
            cache.put(data, parse_hcl(decode(data), "a.tf"))
    return cache.writes


def test_concurrent_writers_of_the_same_entries_leave_whole_entries(tmp_path: Path) -> None:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        writes = pool.map(_put_many, [str(tmp_path)] * 4)
    assert writes == [100] * 4
    names = {p.name for p in (tmp_path / "hcl-parse-v1").iterdir()}
    assert len(names) == 5 and all(n.endswith(".msgpack") for n in names)  # no temporary files
    for number in range(5):
        data = f"locals {{\n  n = {number}\n}}\n".encode()
        assert ParseCache(tmp_path).get(data, "a.tf") == parse_hcl(decode(data), "a.tf")
