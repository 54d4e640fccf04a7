#!/usr/bin/env python3
"""Where one `tfcheck scan PLAN --format json` process spends its CPU, phase by phase.

Runs the real command line (`tfcheck.cli.main`) in this process, compiled as an install
is, with thin timers (`time.process_time`) wrapped around the engine's phases: imports
before the scan, read and decode, shape check, building the graph (resources and
masks, references, known IDs), policies with the facts they build, finding building
and redaction, and what is left (rendering JSON, writing, exit). A phase nested in
another is subtracted from it, so the rows add up to the process.

Usage:
    bench/phases.py PLAN [--repeat 3]        # best of N fresh processes per phase
    bench/phases.py --size 10000             # a generated plan (bench/generate.py)
    bench/phases.py --hcl 100                # an HCL tree of 100 files (cache: as set
                                             # by TFCHECK_CACHE_DIR; --cold: a new one)

Like process.py it measures a `git archive` snapshot (`--at REV`, default HEAD) unless
`--live`. Never a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

# (row name, module, attribute): each is timed as process_time spent inside it, minus
# the time of the other timed functions it calls.
TIMED = [
    ("read and decode", "tfcheck.loaders.plan", "read_plan_document"),
    ("shape check", "tfcheck.loaders.plan", "check_plan_shape"),
    ("graph: resources, values, masks", "tfcheck.loaders.plan", "_PlanBuilder.build"),
    ("graph: references", "tfcheck.loaders.plan", "PlanResolver.resolve"),
    ("graph: known IDs", "tfcheck.loaders.plan", "link_known_ids"),
    ("load: rest (reading the file, freeze)", "tfcheck.engine", "_load"),
    ("policies and facts", "tfcheck.engine", "_run"),
    ("sensitive values", "tfcheck.engine", "_secret_pattern"),
    ("findings and redaction", "tfcheck.engine", "_finding"),
    ("findings and redaction", "tfcheck.engine", "_ModuleBlocks.relocate"),
    ("policy pack loading (entry points, the policies' imports)", "tfcheck.registry",
     "load_policies"),
    ("policy pack loading (entry points, the policies' imports)", "tfcheck.engine",
     "load_policies"),
    ("scan: rest (inputs, sorting, filtering)", "tfcheck.engine", "scan"),
]

# HCL trees (`--hcl N`): the same outer rows, the loader's phases instead of the plan's.
TIMED_HCL = [
    ("hcl: prefetch (find, read, cache or parse ahead)", "tfcheck.hcl.parsing", "begin_parsing"),
    ("hcl: modules (find, read, parse)", "tfcheck.hcl.modules", "ConfigLoader.load"),
    ("hcl: evaluation and graph", "tfcheck.loaders.hcl", "_Builder.build"),
    ("load: rest (root variables, imports)", "tfcheck.engine", "_load"),
    *TIMED[6:],
]

CHILD = r'''
import json, sys, time
import importlib
timed = json.loads(sys.argv[1])
totals = {}
stack = []

def wrap(owner, attribute, row):
    original = getattr(owner, attribute)

    def timer(*args, **kwargs):
        began = time.process_time()
        stack.append(0.0)
        try:
            return original(*args, **kwargs)
        finally:
            spent = time.process_time() - began
            inner = stack.pop()
            totals[row] = totals.get(row, 0.0) + spent - inner
            if stack:
                stack[-1] += spent
    setattr(owner, attribute, timer)

import tfcheck.cli
for row, module, attribute in timed:  # what the command line imports before it scans
    importlib.import_module(module)
imported = time.process_time()
for row, module, attribute in timed:
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    wrap(owner, name, row)
sys.argv = ["tfcheck", "scan", sys.argv[2], "--format", "json"]
import os
exit_now = os._exit

main_pid = os.getpid()

def report(status):
    if os.getpid() != main_pid:  # a forked parse worker ending: not the scan
        exit_now(status)
    total = time.process_time()  # the whole process: interpreter start included
    accounted = sum(totals.values()) + imported
    out = {"interpreter start and imports (cli, engine, loaders)": imported, **totals,
           "rendering, writing, exit, lazy imports outside these": total - accounted,
           "total": total}
    sys.stderr.write("PHASES " + json.dumps(out) + "\n")
    sys.stderr.flush()
    exit_now(status)
os._exit = report
getattr(tfcheck.cli, "run", None) and tfcheck.cli.run()
import atexit  # before cli.run existed: main, and the interpreter's own exit
atexit.register(lambda: report(0))
tfcheck.cli.main()
'''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", nargs="?")
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--at", default="HEAD", metavar="REV")
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--hcl", type=int, metavar="FILES",
                        help="an HCL tree of FILES .tf files instead of a plan")
    parser.add_argument("--cold", action="store_true",
                        help="--hcl: an empty parse cache for every run")
    args = parser.parse_args(argv)

    import generate
    from run import snapshot

    if args.hcl:
        plan = generate.make_hcl(args.hcl)
    else:
        plan = Path(args.plan) if args.plan else generate.make_plan(args.size)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    described = "working tree"
    if not args.live:
        code, commit = snapshot(args.at)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(code)], check=True,
                       env=env, stdout=subprocess.DEVNULL)
        described = commit[:10]
    best: dict[str, float] = {}
    rows = TIMED_HCL if plan.is_dir() else TIMED
    timed = [[row, module, attribute] for row, module, attribute in rows]
    with tempfile.TemporaryDirectory() as cwd:  # -P is not enough for `-c`: run elsewhere
        for run in range(args.repeat):
            if args.cold:
                env["TFCHECK_CACHE_DIR"] = str(Path(cwd) / f"cache-{run}")
            done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(timed), str(plan)],
                                  env=env, cwd=cwd, capture_output=True, text=True,
                                  check=False)
            line = next((x for x in done.stderr.splitlines() if x.startswith("PHASES ")), None)
            if line is None:
                raise SystemExit(done.stderr[-2000:])
            for row, seconds in json.loads(line[7:]).items():
                best[row] = min(best.get(row, seconds), seconds)
    size = sum(p.stat().st_size for p in plan.rglob("*.tf")) if plan.is_dir() else (
        plan.stat().st_size)
    print(f"code: {described}; input: {plan} ({size / 1e6:.1f} MB); best of "
          f"{args.repeat} per row; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| phase | CPU s |\n|---|---:|")
    for row, seconds in best.items():
        print(f"| {row} | {seconds:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
