#!/usr/bin/env python3
"""Whole-process timings of `tfcheck scan PLAN --format json` against the same-run floor.

What a user waits for is a whole process: interpreter start, imports, decode, load,
policies, output. The floor is the cheapest process that could read the same plan,
`python -c "import json; json.load(open(PLAN, 'rb'))"`, measured in the same run,
interleaved with the scans (floor, scan, floor, scan, ...), so that a busy machine
slows both alike. The ratios are what to compare across machines and runs.

For each plan size it prints, best of N (wall clock / CPU seconds of the child, from
`os.wait4`): the floor, the scan, their ratio, the scan's CPU microseconds per
resource (flat = linear), and the peak RSS of each (`ru_maxrss`).

Usage:
    bench/process.py                                  # plans of 1k, 10k resources
    bench/process.py --sizes 1000,2500,5000,10000,25000,50000 --repeat 5
    bench/process.py --at 20e8df3                     # the code of another commit
    bench/process.py --live                           # the working tree as it is
    bench/process.py --version                        # `tfcheck --version` vs `python -c pass`
    bench/process.py --hcl --sizes 100,300,1000       # HCL trees of N .tf files (below)
    bench/process.py --against 52cb60d --sizes 1000,10000   # before and after, interleaved
    bench/process.py --hcl --against 52cb60d --sizes 10,100 # the same for HCL trees
    bench/process.py --hcl --monorepo 12 --sizes 30         # 12 roots of 30 files, one scan
    bench/process.py --hcl --trees ../shared/realworld/configs/*  # existing module trees

`--hcl`: `tfcheck scan TREE --format json` on HCL trees of N files, against the floor
`python -c "from hcl2.parser import parser; p = parser(); [p.parse(t) for t in <every
.tf file>]"` (python-hcl2's raw lark parse, one process, same run; `hcl2.parses` is
~5x slower still), three ways: cold (an empty parse cache), warm
(the cache the cold run left) and `--no-cache`. Wall clock includes the parse workers;
so does CPU (`wait4` counts a child's reaped children).

Plans come from bench/generate.py (bench/results/inputs/, gitignored). Like run.py this
measures a `git archive` snapshot of HEAD by default. Never a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

FLOOR = "import json, sys; json.load(open(sys.argv[1], 'rb'))"
HCL_FLOOR = ("import pathlib, sys; from hcl2.parser import parser; p = parser(); "
             "[p.parse(f.read_text() + '\\n')"
             " for f in sorted(pathlib.Path(sys.argv[1]).rglob('*.tf'))]")


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    def best(self) -> tuple[float, float, float]:
        return min(self.wall), min(self.cpu), min(self.rss_mb)


def measure(argv: list[str], env: dict[str, str], runs: Runs) -> None:
    """Run one child to completion; record its wall clock, CPU time and peak RSS.

    Children run with `python -P` where they import tfcheck: the working directory must
    not shadow the snapshot on PYTHONPATH.
    """
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if process.returncode not in (0, 1):  # 1: findings
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}: {error[-2000:]}")
    runs.wall.append(wall)
    runs.cpu.append(usage.ru_utime + usage.ru_stime)
    runs.rss_mb.append(usage.ru_maxrss / 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000",
                        help="plan sizes in resources, comma-separated")
    parser.add_argument("--layout", choices=("mixed", "fleet", "fanout"), default="mixed",
                        help="fanout: N = rules naming a whole block of N/2 subnets")
    parser.add_argument("--repeat", type=int, default=5, help="best of N (default 5)")
    parser.add_argument("--at", default="HEAD", metavar="REV")
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--version", action="store_true",
                        help="time `tfcheck --version` against `python -c pass` instead")
    parser.add_argument("--hcl", action="store_true",
                        help="HCL trees of --sizes .tf files against a raw python-hcl2 parse")
    parser.add_argument("--against", metavar="REV",
                        help="also scan with REV's code, interleaved (floor, REV, code)")
    parser.add_argument("--monorepo", type=int, metavar="ROOTS", default=0,
                        help="--hcl: a directory of ROOTS root modules of --sizes files each")
    parser.add_argument("--trees", nargs="+", type=Path, metavar="DIR", default=[],
                        help="--hcl: these module trees (a root with its modules, as "
                             "`terraform init` leaves it) instead of generated ones")
    args = parser.parse_args(argv)

    import generate
    from run import snapshot

    env = dict(os.environ)
    # An installed tfcheck imports from cached bytecode; without it every run compiles
    # ~13,000 lines first (PYTHONDONTWRITEBYTECODE is set on some CI and agent machines).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    described = "working tree"
    if not args.live:
        code, commit = snapshot(args.at)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
        described = commit[:10]
    python = sys.executable
    if not args.live:  # compile the snapshot once, as installing it would
        subprocess.run([python, "-m", "compileall", "-q", str(code)], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    print(f"code: {described}; python {platform.python_version()}; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")

    if args.version:
        floor, tool = Runs(), Runs()
        for _ in range(args.repeat):
            measure([python, "-c", "pass"], env, floor)
            measure([python, "-P", "-m", "tfcheck.cli", "--version"], env, tool)
        print("| command | wall s | CPU s | RSS MB |\n|---|---:|---:|---:|")
        for name, runs in (("python -c pass", floor), ("tfcheck --version", tool)):
            wall, cpu, rss = runs.best()
            print(f"| {name} | {wall:.3f} | {cpu:.3f} | {rss:.0f} |")
        return 0

    if args.hcl and args.against:
        return _hcl_against(args, python, env)

    if args.hcl:
        return _hcl(args, python, env)

    if args.against:
        return _against(args, python, env)

    print("| resources | JSON MB | floor wall / CPU s | scan wall / CPU s | ratio wall / CPU "
          "| CPU µs per resource | marginal CPU µs per resource | floor RSS MB | scan RSS MB "
          "| RSS ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    previous: tuple[int, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        path = generate.make_plan(size, layout=args.layout)
        resources = generate.info(path.parent)["resources"]
        floor, scan = Runs(), Runs()
        for _ in range(args.repeat):
            measure([python, "-c", FLOOR, str(path)], env, floor)
            measure([python, "-P", "-m", "tfcheck.cli", "scan", str(path), "--format", "json"],
                    env, scan)
        f_wall, f_cpu, f_rss = floor.best()
        s_wall, s_cpu, s_rss = scan.best()
        # the slope from the previous size: the fixed cost (interpreter, imports) cancels
        marginal = "–" if previous is None or resources == previous[0] else (
            f"{(s_cpu - previous[1]) / (resources - previous[0]) * 1e6:.0f}")
        previous = (resources, s_cpu)
        print(f"| {resources:,} | {path.stat().st_size / 1e6:.1f} | {f_wall:.2f} / {f_cpu:.2f} "
              f"| {s_wall:.2f} / {s_cpu:.2f} | {s_wall / f_wall:.1f}x / {s_cpu / f_cpu:.1f}x "
              f"| {s_cpu / resources * 1e6:.0f} | {marginal} | {f_rss:.0f} | {s_rss:.0f} "
              f"| {s_rss / f_rss:.1f}x |", flush=True)
    return 0


def _before_env(rev: str, python: str, env: dict[str, str]) -> dict[str, str]:
    """The environment that runs REV's code (a compiled snapshot first on the path)."""
    from run import snapshot

    code, commit = snapshot(rev)
    subprocess.run([python, "-m", "compileall", "-q", str(code)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    print(f"before: {commit[:10]}\n")
    return {**env, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(code), os.environ.get("PYTHONPATH")]))}


def _against(args: argparse.Namespace, python: str, env: dict[str, str]) -> int:
    """Plans: the floor, REV's scan and this code's scan, interleaved in one run."""
    import generate

    old_env = _before_env(args.against, python, env)
    print("| resources | floor wall / CPU s | before wall / CPU s (ratio CPU) "
          "| after wall / CPU s (ratio CPU) | before / after RSS MB (ratio to floor) |")
    print("|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        path = generate.make_plan(size, layout=args.layout)
        resources = generate.info(path.parent)["resources"]
        floor, before, after = Runs(), Runs(), Runs()
        scan = [python, "-P", "-m", "tfcheck.cli", "scan", str(path), "--format", "json"]
        for _ in range(args.repeat):
            measure([python, "-c", FLOOR, str(path)], env, floor)
            measure(scan, old_env, before)
            measure(scan, env, after)
        f_wall, f_cpu, f_rss = floor.best()
        b_wall, b_cpu, b_rss = before.best()
        a_wall, a_cpu, a_rss = after.best()
        print(f"| {resources:,} | {f_wall:.2f} / {f_cpu:.2f} | {b_wall:.2f} / {b_cpu:.2f} "
              f"({b_cpu / f_cpu:.1f}x) | {a_wall:.2f} / {a_cpu:.2f} ({a_cpu / f_cpu:.1f}x) "
              f"| {b_rss:.0f} ({b_rss / f_rss:.1f}x) / {a_rss:.0f} ({a_rss / f_rss:.1f}x) |",
              flush=True)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


def _hcl(args: argparse.Namespace, python: str, env: dict[str, str]) -> int:
    """HCL trees: floor (raw python-hcl2 parse), cold, warm and --no-cache scans."""
    import shutil
    import tempfile


    help_text = subprocess.run([python, "-P", "-m", "tfcheck.cli", "scan", "--help"], env=env,
                               cwd=REPO, capture_output=True, text=True, check=False).stdout
    has_cache = "--no-cache" in help_text
    print("| .tf files | KB | floor wall / CPU s | cold wall / CPU s (ratio wall) "
          "| warm wall / CPU s | --no-cache wall / CPU s (ratio wall) | cold RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for tree in _hcl_trees(args):
        label = _label(args, tree)
        kb = sum(p.stat().st_size for p in tree.rglob("*.tf")) / 1024
        floor, cold, warm, uncached = Runs(), Runs(), Runs(), Runs()
        scan = [python, "-P", "-m", "tfcheck.cli", "scan", str(tree), "--format", "json"]
        for _ in range(args.repeat):
            cache = tempfile.mkdtemp(prefix="tfcheck-bench-cache-")
            cached_env = {**env, "TFCHECK_CACHE_DIR": cache}
            try:
                measure([python, "-c", HCL_FLOOR, str(tree)], env, floor)
                measure(scan, cached_env, cold)
                measure(scan, cached_env, warm)
                if has_cache:
                    measure([*scan, "--no-cache"], cached_env, uncached)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        f_wall, f_cpu, _ = floor.best()
        c_wall, c_cpu, c_rss = cold.best()
        w_wall, w_cpu, _ = warm.best()
        no_cache = "–"
        if uncached.wall:
            n_wall, n_cpu, _ = uncached.best()
            no_cache = f"{n_wall:.2f} / {n_cpu:.2f} ({n_wall / f_wall:.2f}x)"
        print(f"| {label} | {kb:,.0f} | {f_wall:.2f} / {f_cpu:.2f} | {c_wall:.2f} / {c_cpu:.2f} "
              f"({c_wall / f_wall:.2f}x) | {w_wall:.2f} / {w_cpu:.2f} | {no_cache} "
              f"| {c_rss:.0f} |", flush=True)
    return 0


def _hcl_trees(args: argparse.Namespace) -> list[Path]:
    """The HCL inputs: `--trees` as given, else a generated tree per `--sizes`."""
    if args.trees:
        return [tree.resolve() for tree in args.trees if tree.is_dir()]
    return [_hcl_tree(args, int(size)) for size in args.sizes.split(",")]


def _label(args: argparse.Namespace, tree: Path) -> str:
    """A row's name: the file count, and the tree's name where it is not generated."""
    files = f"{sum(1 for _ in tree.rglob('*.tf')):,}"
    return f"{files} ({tree.name})" if args.trees else files


def _hcl_tree(args: argparse.Namespace, size: int) -> Path:
    """The HCL input of one size: a generated tree, or a monorepo of copies of it."""
    import generate

    tree = generate.make_hcl(size)
    if not args.monorepo:
        return tree
    import shutil

    top = tree.parent / f"monorepo-{args.monorepo}x{size}"
    if not top.is_dir():
        for number in range(args.monorepo):  # copies of one tree, each a root of its own
            copy = top / f"stack-{number:02}"
            shutil.copytree(tree, copy)
            for path in copy.rglob("*.tf"):  # every file its own text: none parsed once for all
                path.write_text(f"# stack {number}\n{path.read_text()}")
    return top


def _hcl_against(args: argparse.Namespace, python: str, env: dict[str, str]) -> int:
    """HCL trees: the floor, REV's cold and warm scans, this code's, interleaved in one run."""
    import shutil
    import tempfile


    old_env = _before_env(args.against, python, env)
    print("| .tf files | floor wall / CPU s | before cold wall / CPU s (ratio wall) "
          "| after cold wall / CPU s (ratio wall) | before warm wall / CPU s "
          "| after warm wall / CPU s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for tree in _hcl_trees(args):
        label = _label(args, tree)
        runs = {name: Runs() for name in ("floor", "b-cold", "b-warm", "a-cold", "a-warm")}
        scan = [python, "-P", "-m", "tfcheck.cli", "scan", str(tree), "--format", "json"]
        for _ in range(args.repeat):
            measure([python, "-c", HCL_FLOOR, str(tree)], env, runs["floor"])
            for side, side_env in (("b", old_env), ("a", env)):
                cache = tempfile.mkdtemp(prefix="tfcheck-bench-cache-")
                try:
                    cached_env = {**side_env, "TFCHECK_CACHE_DIR": cache}
                    measure(scan, cached_env, runs[f"{side}-cold"])
                    measure(scan, cached_env, runs[f"{side}-warm"])
                finally:
                    shutil.rmtree(cache, ignore_errors=True)
        f_wall, f_cpu, _ = runs["floor"].best()
        cells = []
        for name in ("b-cold", "a-cold", "b-warm", "a-warm"):
            wall, cpu, _ = runs[name].best()
            ratio = f" ({wall / f_wall:.2f}x)" if name.endswith("cold") else ""
            cells.append(f"{wall:.2f} / {cpu:.2f}{ratio}")
        print(f"| {label} | {f_wall:.2f} / {f_cpu:.2f} | {' | '.join(cells)} |", flush=True)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
