#!/usr/bin/env python3
"""Same findings before and after a change: scan every input, compare two records.

A speed or refactoring change must not change one finding. `record` scans every
fixture, example and `../shared/realworld` input (each plan file, and each directory
with .tf files as HCL) with this checkout's `tfcheck`, `--format json --show-passed`,
and keeps each input's output, stderr and exit code. `compare` lists the inputs whose
record differs, finding by finding and field by field.

Usage:
    scripts/same_findings.py record OUT [--jobs 2]   # ~4 min on 2 cores
    scripts/same_findings.py compare BEFORE AFTER    # exit 1 if any input differs

To compare with another commit: `git worktree add --detach ../before REV`, install it in
its own venv, and run its `record` (with this script) there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "realworld"
# fields that name the tool's version, not what it found
VOLATILE = frozenset({"version", "tfcheck_version"})


def inputs(repo: Path = REPO) -> list[str]:
    """Every plan file and every directory of .tf files the record scans, sorted."""
    found: set[str] = set()
    for top in ("fixtures", "examples"):
        for path in (repo / top).rglob("*"):
            if ".terraform" in path.parts or "snapshots" in path.parts or (
                    path.parent.name == "shared"):  # files cases link to: not an input
                continue
            if path.suffix == ".json" and path.is_file() and _is_plan(path):
                found.add(str(path.relative_to(repo)))
            elif path.suffix == ".tf" and path.is_file():
                found.add(str(path.parent.relative_to(repo)))
    if SHARED.is_dir():
        found.update(str(p) for p in (SHARED / "plans").glob("*.json"))
        found.update(str(p) for p in (SHARED / "configs").iterdir() if p.is_dir())
    return sorted(found)


def _is_plan(path: Path) -> bool:
    return b'"format_version"' in path.read_bytes()  # sorted keys put it anywhere


def _name(item: str) -> str:
    return item.replace(str(REPO.parent) + "/", "").replace("/", "__")


def record(out: Path, jobs: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tfcheck = Path(sys.executable).with_name("tfcheck")
    env = dict(os.environ, TFCHECK_CACHE_DIR=str(out / ".cache"))

    def scan(item: str) -> None:
        done = subprocess.run(  # noqa: S603 - this checkout's own command
            [str(tfcheck), "scan", item, "--format", "json", "--show-passed", "--no-color"],
            cwd=REPO, env=env, capture_output=True, check=False)
        (out / f"{_name(item)}.json").write_bytes(done.stdout)
        (out / f"{_name(item)}.err").write_bytes(done.stderr)
        (out / f"{_name(item)}.rc").write_text(f"{done.returncode}\n")

    items = inputs()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(scan, items))
    print(f"{len(items)} inputs recorded in {out}")
    return 0


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def _load(path: Path) -> Any:
    try:
        return _without_volatile(json.loads(path.read_text(encoding="utf-8") or "null"))
    except (OSError, ValueError):
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else None


def _key(finding: dict[str, Any]) -> tuple[str, str, str]:
    return (finding.get("rule_id", ""), finding.get("address", ""),
            finding.get("fingerprint", ""))


def compare(before: Path, after: Path) -> int:
    names = sorted({p.stem for p in before.glob("*.json")} | {p.stem for p in after.glob("*.json")})
    differ = 0
    for name in names:
        old = [_load(before / f"{name}{suffix}") for suffix in (".json", ".err", ".rc")]
        new = [_load(after / f"{name}{suffix}") for suffix in (".json", ".err", ".rc")]
        if old == new:
            continue
        differ += 1
        print(f"DIFF {name}")
        if isinstance(old[0], dict) and isinstance(new[0], dict):
            _explain(old[0], new[0])
        for label, a, b in (("stderr", old[1], new[1]), ("exit code", old[2], new[2])):
            if a != b:
                print(f"    {label}: {str(a)[:300]!r} -> {str(b)[:300]!r}")
    print(f"{len(names)} inputs, {differ} differ")
    return 1 if differ else 0


def _explain(old: dict[str, Any], new: dict[str, Any]) -> None:
    was = {_key(f): f for f in old.get("findings", [])}
    now = {_key(f): f for f in new.get("findings", [])}
    for key in sorted(set(was) | set(now)):
        a, b = was.get(key), now.get(key)
        if a == b:
            continue
        if a is None or b is None:
            print(f"    only {'after' if a is None else 'before'}: {key}")
            continue
        for field in sorted(set(a) | set(b)):
            if a.get(field) != b.get(field):
                print(f"    {key} {field}: {str(a.get(field))[:200]!r} -> "
                      f"{str(b.get(field))[:200]!r}")
    for field in sorted((set(old) | set(new)) - {"findings"}):
        if old.get(field) != new.get(field):
            print(f"    {field}: {str(old.get(field))[:300]!r} -> {str(new.get(field))[:300]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record")
    recording.add_argument("out", type=Path)
    recording.add_argument("--jobs", type=int, default=2)
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        return record(args.out, args.jobs)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
