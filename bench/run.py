#!/usr/bin/env python3
"""Time tfcheck on synthetic plans and HCL trees of increasing size.

For every input it measures, in a fresh interpreter per input (so one input's caches
and memory never flatter the next):

- `load`: the loader alone, warm, (`load_plan_file` / `load_hcl`), best of N wall clock;
  for plans also `json`, the share spent reading and parsing the JSON;
- `scan`: `tfcheck.engine.scan([input], policies=<all installed>)`, best of N; and
  `scan first`, the very first scan in the process (what one CLI run pays: lazy
  imports, the HCL grammar build), measured before anything is warmed up;
- `peak MB`: tracemalloc's peak during one extra scan; `RSS MB`: the worker's maximum
  resident set size (ru_maxrss) at the end;
- per policy: the time of each policy's `check` on one shared `ScanContext`, in ID
  order (so the first policy to ask for a shared fact, e.g. the network, pays for it).

`--profile` also runs one scan under cProfile per input and prints the top 20
functions by own time and by cumulative time (the .prof files stay in
bench/results/profiles/ for snakeviz or pstats).

Inputs are generated on demand by bench/generate.py into bench/results/inputs/
(gitignored) and reused while the generator is unchanged.

Usage:
    bench/run.py                          # small, medium, large; all kinds
    bench/run.py --sizes small --quick    # seconds: one run each, no memory pass
    bench/run.py --sizes plan:10000 --profile
    bench/run.py --sizes large --kinds hcl --repeat 1

Sizes: `small` (plan 100 resources, HCL 10 files), `medium` (1,000 / 100), `large`
(10,000 / 1,000), or `KIND:N`. Kinds: `plan`, `plan+src` (a plan scanned with
`--source` pointing at the HCL behind it), `hcl`, and `fleet` (a plan whose clusters
all sit in one `for_each` module, no filler; only by name: `--sizes fleet:5000`); the
HCL kinds are skipped, with a note, while tfcheck has no HCL loader.

By default the code measured is a snapshot of HEAD (`git archive` into a temporary
directory imported ahead of the editable install), so edits in progress in the working
tree never leak into the numbers; `--at REV` picks another commit, `--live` measures the
working tree as it is.

Never use this as a timed assertion in tests: wall clock on shared CI is noise.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import gc
import importlib.util
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

PRESETS = {
    "small": (("plan", 100), ("hcl", 10)),
    "medium": (("plan", 1000), ("hcl", 100)),
    "large": (("plan", 10000), ("hcl", 1000)),
}
KINDS = ("plan", "plan+src", "hcl", "fleet")


@dataclass(frozen=True)
class Job:
    kind: str  # "plan", "plan+src", "hcl"
    size: int  # resources for plans, .tf files for HCL

    @property
    def label(self) -> str:
        unit = "files" if self.kind == "hcl" else "resources"
        return f"{self.kind} {self.size:,} {unit}"


# -- the worker: one input, one fresh interpreter ---------------------------------------


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]

    def best(self) -> tuple[float, float]:
        return min(self.wall), min(self.cpu)


def _best(action: Any, repeat: int, budget: float) -> tuple[Timing, Any]:
    """Run `action` up to `repeat` times (at least once, then only while within
    `budget` seconds); wall-clock and CPU times of every run, and the last result."""
    timing = Timing([], [])
    result = None
    spent = 0.0
    while len(timing.wall) < repeat and (not timing.wall or spent + timing.wall[-1] <= budget):
        result = None  # the previous graph must not slow this run's garbage collector
        gc.collect()
        cpu = time.process_time()
        started = time.perf_counter()
        result = action()
        timing.wall.append(time.perf_counter() - started)
        timing.cpu.append(time.process_time() - cpu)
        spent += timing.wall[-1]
    return timing, result


def worker(kind: str, path: Path, repeat: int, budget: float, memory: bool,
           profile: Path | None, policy_times: bool) -> dict[str, Any]:
    started = time.perf_counter()
    from tfcheck.engine import ScanOptions, scan
    from tfcheck.loaders.plan import load_plan_file, read_plan_document
    from tfcheck.policy import ScanContext
    from tfcheck.registry import load_policies

    policies, pack_errors = load_policies()
    import tfcheck

    out: dict[str, Any] = {"import_s": time.perf_counter() - started,
                           "code": str(Path(tfcheck.__file__).parent.parent),
                           "policies": len(policies),
                           "pack_errors": [e.message for e in pack_errors]}
    options = ScanOptions()
    if kind == "hcl":
        from tfcheck.loaders.hcl import load_hcl

        def load() -> Any:
            return load_hcl(path).graph
    else:
        def load() -> Any:
            return load_plan_file(path)
        if kind == "plan+src":
            options = ScanOptions(source_dir=path.parent / "src")

    def run_scan() -> Any:
        return scan([path], options=options, policies=policies)

    # What one CLI run pays: nothing warmed up yet (lazy imports, the HCL grammar).
    # Nothing a measurement returns may stay alive during the next one: a big graph
    # or parsed document left in a variable slows every later garbage collection.
    first = _best(run_scan, 1, 0)[0]
    out["scan_first_s"], out["scan_first_cpu"] = first.best()
    gc.collect()

    if kind != "hcl":
        json_times = _best(lambda: read_plan_document(path.read_bytes(), str(path)),
                           repeat, budget)[0]
        out["json_s"], out["json_cpu"] = json_times.best()
        out["bytes"] = path.stat().st_size

    load_times, graph = _best(load, repeat, budget)
    out["load_s"], out["load_cpu"] = load_times.best()
    out["resources"] = len(graph)
    out["edges"] = sum(1 for _ in graph.edges()) + sum(  # block-level edges since 78d635c
        1 for _ in getattr(graph, "block_edges", tuple)())
    graph = None

    gc.collect()
    scan_times, report = _best(run_scan, repeat, budget)
    out["scan_s"], out["scan_cpu"] = scan_times.best()
    out["runs"] = len(scan_times.wall)
    out["findings"] = len(report.findings)
    statuses: dict[str, int] = {}
    for finding in report.findings:
        statuses[finding.status.value] = statuses.get(finding.status.value, 0) + 1
    out["statuses"] = statuses
    out["input_errors"] = [str(e) for e in report.input_errors][:5]
    out["internal_errors"] = [f"{e.context}: {e.message}" for e in report.internal_errors][:10]
    out["internal_error_count"] = len(report.internal_errors)

    if policy_times:
        report = None
        gc.collect()
        context = ScanContext(graph=load())
        per_policy: dict[str, float] = {}
        for policy in policies:
            t0 = time.process_time()
            try:
                for _ in policy.check(context):
                    pass
            except Exception:  # reported by the scan already
                pass
            per_policy[policy.id] = time.process_time() - t0
        out["policy_s"] = per_policy

    context = report = None
    gc.collect()
    if memory:
        tracemalloc.start()
        run_scan()
        out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    if profile is not None:
        profiler = cProfile.Profile()
        profiler.enable()
        run_scan()
        profiler.disable()
        profiler.dump_stats(profile)
        out["profile"] = str(profile)

    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# -- the driver -----------------------------------------------------------------------


def parse_sizes(text: str, kinds: tuple[str, ...]) -> list[Job]:
    jobs: list[Job] = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        if item in PRESETS:
            for kind, size in PRESETS[item]:
                if kind == "plan":
                    jobs += [Job(k, size) for k in ("plan", "plan+src") if k in kinds]
                elif kind in kinds:
                    jobs.append(Job(kind, size))
        elif ":" in item:
            kind, _, size = item.partition(":")
            if kind not in KINDS:
                raise SystemExit(f"unknown kind {kind!r} in --sizes (one of {KINDS})")
            jobs.append(Job(kind, int(size.replace("_", "").replace(",", ""))))
        else:
            raise SystemExit(f"unknown size {item!r}: small, medium, large, plan:N, hcl:N")
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(dict.fromkeys(jobs), key=lambda j: (order[j.kind], j.size))


def hcl_loader_has(name: str, code: Path | None) -> bool:
    """Whether the HCL loader measured (in `code`, else the installed one) has `name`."""
    if code is not None:
        path = code / "tfcheck" / "loaders" / "hcl.py"
    else:
        spec = importlib.util.find_spec("tfcheck.loaders.hcl")
        path = Path(spec.origin) if spec and spec.origin else Path("/nonexistent")
    try:
        return f"def {name}(" in path.read_text(encoding="utf-8")
    except OSError:
        return False


def prepare(job: Job) -> Path:
    import generate

    if job.kind == "hcl":
        return generate.make_hcl(job.size)
    if job.kind == "fleet":
        return generate.make_plan(job.size, layout="fleet")
    return generate.make_plan(job.size)


def snapshot(rev: str) -> tuple[Path, str]:
    """The engine and the policy pack as committed at `rev`, in a temporary directory
    that workers import ahead of the editable install: others edit the working tree
    while we measure. Returns the directory and the full commit hash."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.strip()
    directory = Path(tempfile.mkdtemp(prefix=f"tfcheck-bench-{commit[:10]}-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    archive = subprocess.run(["git", "archive", commit, "tfcheck", "policies"], cwd=REPO,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    (directory / "tfcheck_policies").symlink_to("policies")  # as the install maps it
    return directory, commit


def run_job(job: Job, args: argparse.Namespace) -> dict[str, Any]:
    path = prepare(job)
    profile = None
    if args.profile:
        (RESULTS / "profiles").mkdir(parents=True, exist_ok=True)
        profile = RESULTS / "profiles" / f"{job.kind.replace('+', '-')}-{job.size}.prof"
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", job.kind, str(path),
            "--repeat", str(args.repeat), "--budget", str(args.budget)]
    if not args.quick:
        argv.append("--memory")
    if args.policy_times:
        argv.append("--policy-times")
    if profile is not None:
        argv += ["--profile-file", str(profile)]
    env = dict(os.environ)
    if args.code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.code),
                                                         env.get("PYTHONPATH")]))
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO,
                          timeout=args.timeout, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-8:]
        return {"error": "\n".join(tail)}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - started
    import generate

    directory = path if path.is_dir() else path.parent
    result["input"] = generate.info(directory)
    return result


def _s(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pair(result: dict[str, Any], name: str) -> str:
    wall, cpu = result.get(f"{name}_s"), result.get(f"{name}_cpu")
    return "–" if wall is None else f"{_s(wall)} / {_s(cpu)}"


def markdown(rows: list[tuple[Job, dict[str, Any]]], notes: list[str]) -> str:
    lines = ["| input | size | resources | json | load | scan | scan, first in process | "
             "peak MB | RSS MB | findings (fail/pass/unknown) | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for job, r in rows:
        if "error" in r:
            first = r["error"].splitlines()[-1] if r["error"] else "failed"
            lines.append(f"| {job.kind} | {job.size:,} | | | | | | | | {first} | |")
            continue
        info = r.get("input", {})
        if job.kind == "hcl":
            size = f"{info.get('files', job.size):,} files, {info.get('bytes', 0) / 1024:,.0f} KB"
        else:
            size = f"{r.get('bytes', 0) / 2**20:.1f} MB JSON"
        st = r.get("statuses", {})
        verdicts = f"{r['findings']:,} ({st.get('fail', 0)}/{st.get('pass', 0)}/" \
                   f"{st.get('unknown', 0)})"
        errors = r.get("internal_error_count", 0) + len(r.get("input_errors", []))
        lines.append(
            f"| {job.kind} | {size} | {r['resources']:,} | {_pair(r, 'json')} | "
            f"{_pair(r, 'load')} | {_pair(r, 'scan')} | {_pair(r, 'scan_first')} | "
            f"{_mb(r.get('peak_mb'))} | {_mb(r.get('maxrss_mb'))} | {verdicts} | {errors} |")
    text = "Times in seconds, wall clock / CPU (best of the runs).\n\n" + "\n".join(lines)
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def policy_table(rows: list[tuple[Job, dict[str, Any]]]) -> str:
    with_times = [(job, r) for job, r in rows if "policy_s" in r]
    if not with_times:
        return ""
    ids = sorted({pid for _, r in with_times for pid in r["policy_s"]})
    header = "| policy | " + " | ".join(j.label for j, _ in with_times) + " |"
    lines = [header, "|---|" + "---:|" * len(with_times)]
    for pid in ids:
        cells = [_s(r["policy_s"].get(pid)) for _, r in with_times]
        lines.append(f"| {pid} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_report(path: Path, top: int = 20) -> str:
    text = StringIO()
    stats = pstats.Stats(str(path), stream=text)
    stats.strip_dirs()
    text.write(f"### {path.name}: top {top} by own time\n```\n")
    stats.sort_stats("tottime").print_stats(top)
    text.write("```\n")
    text.write(f"### {path.name}: top {top} by cumulative time\n```\n")
    stats.sort_stats("cumulative").print_stats(top)
    text.write("```\n")
    return _trim_pstats(text.getvalue())


def _trim_pstats(text: str) -> str:
    """pstats prints a preamble per listing; keep the table."""
    keep = []
    for line in text.splitlines():
        if line.strip().startswith(("Ordered by", "List reduced")) or line.endswith(".prof"):
            continue
        keep.append(line)
    return "\n".join(keep)


def environment(commit: str | None) -> dict[str, str]:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version
        hcl2 = version("python-hcl2")
    except Exception:
        hcl2 = "?"
    if commit is None:
        dirty = git("status", "--porcelain", "--", "tfcheck", "policies")
        described = git("rev-parse", "--short", "HEAD") + (
            " + uncommitted changes" if dirty else "") + " (live working tree)"
    else:
        described = commit[:10]
    return {
        "commit": described,
        "python": platform.python_version(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "python-hcl2": hcl2,
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--kinds", default="plan,plan+src,hcl",
                        help="comma-separated kinds the presets expand to: plan, plan+src, hcl")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="stop repeating a measurement after this many seconds")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per input")
    parser.add_argument("--quick", action="store_true",
                        help="one run per input, no tracemalloc pass, no policy times")
    parser.add_argument("--profile", action="store_true", help="cProfile top 20 per input")
    parser.add_argument("--policy-times", action="store_true",
                        help="also time each policy (on by default unless --quick)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--at", default="HEAD", metavar="REV",
                        help="measure tfcheck as committed at REV (default HEAD)")
    parser.add_argument("--live", action="store_true",
                        help="measure the working tree as it is, uncommitted edits included")
    # internal: one measurement in this process
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, path = args.worker
        result = worker(kind, Path(path), args.repeat, args.budget, args.memory,
                        args.profile_file, args.policy_times)
        print(json.dumps(result))
        return 0

    if args.quick:
        args.repeat = 1
    else:
        args.policy_times = True
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    jobs = parse_sizes(args.sizes, kinds)
    args.code, commit = None, None
    if not args.live:
        args.code, commit = snapshot(args.at)
    notes: list[str] = []
    # a plan's configuration is evaluated with load_hcl too (`--source`)
    needs_hcl = sorted({j.kind for j in jobs} & {"hcl", "plan+src"})
    if needs_hcl and not hcl_loader_has("load_hcl", args.code):
        notes.append(f"{' and '.join(needs_hcl)} sizes skipped: "
                     "tfcheck.loaders.hcl.load_hcl does not exist yet")
        jobs = [j for j in jobs if j.kind not in needs_hcl]

    env = environment(commit)
    print(f"tfcheck {env['commit']}, Python {env['python']}, {env['cpu']}, "
          f"python-hcl2 {env['python-hcl2']}", file=sys.stderr)
    rows: list[tuple[Job, dict[str, Any]]] = []
    for job in jobs:
        print(f"  {job.label} ...", end="", flush=True, file=sys.stderr)
        try:
            result = run_job(job, args)
        except subprocess.TimeoutExpired:
            result = {"error": f"timed out after {args.timeout:.0f}s"}
        rows.append((job, result))
        summary = (f"scan {_s(result['scan_s'])}s" if "scan_s" in result
                   else result["error"].splitlines()[-1] if result["error"] else "failed")
        print(f" {summary} ({result.get('wall_s', 0):.0f}s)", file=sys.stderr)
        for error in result.get("internal_errors", [])[:3]:
            notes.append(f"{job.label}: internal error {error[:200]}")
        for error in result.get("input_errors", [])[:3]:
            notes.append(f"{job.label}: input error {error[:200]}")

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\ntfcheck {env['commit']} · Python {env['python']} · {env['cpu']} · "
          f"python-hcl2 {env['python-hcl2']} · best of {args.repeat} · "
          f"{rows[0][1].get('policies', '?') if rows else 0} policies · "
          f"load average at the end {load} (at the start {env['load']})\n")
    print(markdown(rows, notes))
    table = policy_table(rows)
    if table:
        print("\nPer policy (CPU seconds; the first policy to use a shared fact pays "
              "for it):\n")
        print(table)
    if args.profile:
        for _, result in rows:
            if "profile" in result:
                print()
                print(profile_report(Path(result["profile"])))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"environment": env, "results": [{"kind": j.kind, "size": j.size, **r}
                                             for j, r in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
