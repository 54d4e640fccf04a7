#!/usr/bin/env python3
"""Generate the plan fixtures in fixtures/plans/<case>/plan.json with a real terraform.

Each case directory holds HCL (``main.tf`` and maybe local modules under it) and an
``expect.txt``. ``--plans-dir fixtures/hcl-policies`` does the same for the HCL cases
that have a plan; a case with a ``NO_PLAN`` file (saying why: a data source, a provider
not in the mirror) is HCL only and skipped, and ``shared/`` holds files several cases
link to, not a case. For every case this script copies the HCL to a temporary directory,
runs ``terraform init -plugin-dir=<mirror>`` against an offline mirror of the
hashicorp/aws provider, ``terraform plan -refresh=false -out tfplan`` and
``terraform show -json tfplan``, and writes the result, normalised for determinism,
to ``plan.json`` beside the HCL. Nothing terraform writes (``.terraform``, lock files,
``tfplan``) ever lands in the repository.

Usage:
    scripts/generate_fixtures.py                 # regenerate every case
    scripts/generate_fixtures.py --case NAME     # one case (repeatable)
    scripts/generate_fixtures.py --check -j 2    # exit 1 if a committed plan is stale
    scripts/generate_fixtures.py --plans-dir fixtures/hcl-policies [--check]

The provider mirror is found through ``TFCHECK_PROVIDER_MIRROR``, else in the usual
places (/opt/tf-plugins, ~/.terraform.d/plugins, the XDG data dirs). The terraform
binary is ``TFCHECK_TERRAFORM`` or ``terraform`` on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PLANS_DIR = REPO_ROOT / "fixtures" / "plans"
HCL_CASES_DIR = REPO_ROOT / "fixtures" / "hcl-policies"  # HCL cases, some with a plan
SHARED = "shared"  # files several cases link to (as main.tf links the good cluster's)
NO_PLAN = "NO_PLAN"  # in an HCL-only case: why terraform cannot plan it offline

PLAN_FILE = "plan.json"
EXPECT_FILE = "expect.txt"
# Files of a case that are ours, not terraform's input.
NOT_INPUT = {PLAN_FILE, EXPECT_FILE, "README.md", "tfplan", ".terraform.lock.hcl"}
NOT_INPUT_DIRS = {".terraform"}

# Keys of `terraform show -json` that vary from run to run or machine to machine and
# carry nothing tfcheck reads.
VOLATILE_KEYS = {"timestamp"}
# Compared by --check only loosely: a newer terraform may write another version here.
IGNORED_IN_CHECK = {"terraform_version"}

PROVIDER_SOURCE = ("registry.terraform.io", "hashicorp", "aws")
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
TIMEOUT = 600  # seconds per terraform command


class GenerationError(Exception):
    """A case that terraform could not plan, or a missing tool: printed, exit 2."""


@dataclass(frozen=True)
class Toolchain:
    terraform: str
    mirror: Path


def _platform_dir() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{sys.platform if sys.platform != 'linux2' else 'linux'}_{arch}"


def mirror_has_aws(mirror: Path) -> bool:
    """Whether `mirror` is a -plugin-dir holding hashicorp/aws for this platform."""
    provider_dir = mirror.joinpath(*PROVIDER_SOURCE)
    if not provider_dir.is_dir():
        return False
    return any(provider_dir.glob(f"*/{_platform_dir()}/terraform-provider-aws*"))


def find_mirror() -> Path | None:
    """The offline provider mirror, or None where there is none."""
    configured = os.environ.get("TFCHECK_PROVIDER_MIRROR")
    if configured:
        path = Path(configured).expanduser()
        return path if mirror_has_aws(path) else None
    candidates = [Path(c).expanduser() for c in MIRROR_CANDIDATES]
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg:
        candidates.append(Path(xdg) / "terraform" / "plugins")
    for directory in os.environ.get("XDG_DATA_DIRS", "").split(os.pathsep):
        if directory:
            candidates.append(Path(directory) / "terraform" / "plugins")
    for candidate in candidates:
        if mirror_has_aws(candidate):
            return candidate
    return None


def find_terraform() -> str | None:
    configured = os.environ.get("TFCHECK_TERRAFORM")
    if configured:
        return configured if shutil.which(configured) else None
    return shutil.which("terraform")


def missing_toolchain_reason() -> str | None:
    """Why fixtures cannot be generated here, or None when they can."""
    if find_terraform() is None:
        return (
            "terraform is not on PATH (or TFCHECK_TERRAFORM does not name a binary); "
            "install terraform >= 1.5 to generate plan fixtures"
        )
    if find_mirror() is None:
        where = os.environ.get("TFCHECK_PROVIDER_MIRROR")
        if where:
            return (
                f"TFCHECK_PROVIDER_MIRROR={where} holds no hashicorp/aws provider for "
                f"{_platform_dir()} (expected {'/'.join(PROVIDER_SOURCE)}/<version>/"
                f"{_platform_dir()}/terraform-provider-aws_*)"
            )
        return (
            "no offline mirror of the hashicorp/aws provider found; set "
            "TFCHECK_PROVIDER_MIRROR to a directory laid out like "
            f"{'/'.join(PROVIDER_SOURCE)}/<version>/{_platform_dir()}/ (searched: "
            + ", ".join(MIRROR_CANDIDATES)
            + ")"
        )
    return None


def toolchain() -> Toolchain:
    reason = missing_toolchain_reason()
    if reason is not None:
        raise GenerationError(reason)
    terraform = find_terraform()
    mirror = find_mirror()
    assert terraform is not None and mirror is not None
    return Toolchain(terraform=terraform, mirror=mirror)


def list_cases(plans_dir: Path = PLANS_DIR) -> list[str]:
    """Cases with a plan: the directories directly under `plans_dir` with a .tf file."""
    if not plans_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in plans_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and entry.name != SHARED
        and any(entry.glob("*.tf")) and not (entry / NO_PLAN).is_file()
    )


def _terraform_env(tmp: Path) -> dict[str, str]:
    """A clean environment: no user CLI config, no credentials, no TF_VAR_ inputs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "AWS_")) and key not in {"CHECKPOINT_DISABLE"}
    }
    env.update(
        {
            "TF_CLI_CONFIG_FILE": "/dev/null",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_DATA_DIR": str(tmp / ".terraform"),
            "HOME": str(tmp / "home"),
        }
    )
    return env


# terraform processes still running, so that SIGTERM/SIGINT can stop them and every
# temporary directory is still removed (no orphaned terraform, no stray work dirs).
_LIVE: set[subprocess.Popen[Any]] = set()
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()


def _run(args: list[str], cwd: Path, env: dict[str, str], case: str) -> str:
    if _STOPPING.is_set():
        raise GenerationError(f"{case}: interrupted")
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.communicate()
        raise GenerationError(f"{case}: `{' '.join(args[:2])}` timed out after {TIMEOUT}s") from exc
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    if _STOPPING.is_set():
        raise GenerationError(f"{case}: interrupted")
    if proc.returncode != 0:
        output = (stderr.strip() or stdout.strip())[-4000:]
        raise GenerationError(f"{case}: `{' '.join(args[:2])}` failed:\n{output}")
    return stdout


def _stop(signum: int, _frame: object) -> None:
    """Stop the running terraform processes; the workers then clean up and return."""
    _STOPPING.set()
    with _LIVE_LOCK:
        for proc in _LIVE:
            if proc.poll() is None:
                proc.terminate()
    raise KeyboardInterrupt(f"signal {signum}")


def _copy_case(source: Path, target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = {n for n in names if n in NOT_INPUT_DIRS}
        if Path(directory) == source:
            ignored |= {n for n in names if n in NOT_INPUT}
        return ignored

    # symlinks=False: a case's `main.tf -> ../good-private-cluster/main.tf` is copied as
    # the file it points at (a relative link would dangle in the temporary directory)
    shutil.copytree(source, target, ignore=ignore, symlinks=False)


def _replace_paths(value: Any, replacements: list[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _replace_paths(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_paths(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements:
            if old in value:
                value = value.replace(old, new)
        return value
    return value


def _drop_keys(value: Any, keys: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop_keys(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_drop_keys(v, keys) for v in value]
    return value


def normalise(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Drop what varies between runs; absolute paths of the temp dir become relative."""
    plan = _drop_keys(plan, VOLATILE_KEYS)
    resolved = str(workdir.resolve())
    replacements = [(resolved + os.sep, ""), (resolved, ".")]
    if str(workdir) != resolved:
        replacements += [(str(workdir) + os.sep, ""), (str(workdir), ".")]
    result: dict[str, Any] = _replace_paths(plan, replacements)
    # terraform writes relevant_attributes in map-iteration order: sort it.
    if isinstance(result.get("relevant_attributes"), list):
        result["relevant_attributes"] = sorted(
            result["relevant_attributes"],
            key=lambda item: json.dumps(item, sort_keys=True),
        )
    return result


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


PROVIDER_ALIAS = re.compile(r"^\s*alias\s*=", re.MULTILINE)


def _has_provider_aliases(work: Path) -> bool:
    """Whether any .tf file of a case configures a provider alias."""
    return any(PROVIDER_ALIAS.search(path.read_text(encoding="utf-8"))
               for path in work.rglob("*.tf"))


REATTACH_LINE = re.compile(r"TF_REATTACH_PROVIDERS='([^']+)'")
REATTACH_WAIT = 120  # seconds for a provider in debug mode to announce its address


@contextlib.contextmanager
def _shared_provider(tmp: Path, env: dict[str, str], case: str) -> Iterator[dict[str, str]]:
    """One aws provider process for both `plan` and `show` of a case.

    terraform starts the 700 MB provider binary several times per command; started
    once in debug mode and reattached (`TF_REATTACH_PROVIDERS`), it is started once
    per case, which saves about a third of the CPU time. The output is identical.
    Yields the environment to run terraform with: unchanged where the provider cannot
    be started this way (the fallback is terraform's own launching).
    """
    data_dir = Path(env["TF_DATA_DIR"]) / "providers" / Path(*PROVIDER_SOURCE)
    binaries = sorted(data_dir.glob(f"*/{_platform_dir()}/terraform-provider-aws*"))
    if len(binaries) != 1 or _STOPPING.is_set():
        yield env
        return
    log_path = tmp / "provider-debug.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [str(binaries[0]), "-debug"],
            cwd=tmp,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        deadline = time.monotonic() + REATTACH_WAIT
        reattach = None
        while reattach is None and proc.poll() is None and time.monotonic() < deadline:
            match = REATTACH_LINE.search(log_path.read_text(encoding="utf-8", errors="replace"))
            if match:
                reattach = match.group(1)
            else:
                time.sleep(0.05)
        if reattach is None:
            print(f"  {case}: provider debug mode unavailable, terraform launches it",
                  file=sys.stderr)
            yield env
        else:
            yield {**env, "TF_REATTACH_PROVIDERS": reattach}
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def plan_case(
    case: str, tools: Toolchain, plans_dir: Path = PLANS_DIR, *, reattach: bool = True
) -> str:
    """Plan one case in a temporary directory; the normalised plan.json text."""
    source = plans_dir / case
    if not source.is_dir():
        raise GenerationError(f"{case}: no such case directory {source}")
    with tempfile.TemporaryDirectory(
        prefix=f"tfcheck-fixture-{case}-", ignore_cleanup_errors=True
    ) as tmpdir:
        tmp = Path(tmpdir)
        work = tmp / "case"
        _copy_case(source, work)
        (tmp / "home").mkdir()
        env = _terraform_env(tmp)
        tf = tools.terraform
        _run(
            [tf, "init", "-input=false", "-no-color", f"-plugin-dir={tools.mirror}"],
            work,
            env,
            case,
        )
        # Provider configurations with aliases share state inside one reattached provider
        # process (default_tags of one alias showed up on another's resources): those
        # cases get terraform's own launching, one process per configuration.
        share = reattach and not _has_provider_aliases(work)
        shared = _shared_provider(tmp, env, case) if share else contextlib.nullcontext(env)
        with shared as run_env:
            _run(
                [
                    tf,
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-refresh=false",
                    "-lock=false",
                    "-out",
                    str(tmp / "tfplan"),
                ],
                work,
                run_env,
                case,
            )
            shown = _run(
                [tf, "show", "-json", "-no-color", str(tmp / "tfplan")], work, run_env, case
            )
        plan = json.loads(shown)
        return dumps(normalise(plan, work))


def _comparable(text: str) -> Any:
    return _sorted_references(_drop_keys(json.loads(text), IGNORED_IN_CHECK))


def _sorted_references(value: Any) -> Any:
    """Every `references` list in a fixed order, for comparing only.

    terraform lists a nested block's references attribute by attribute in map-iteration
    order (`ingress { cidr_blocks = [...], ipv6_cidr_blocks = [...] }` comes out either
    way round): the same plan, written two ways. The committed file keeps the order one
    run wrote.
    """
    if isinstance(value, dict):
        return {k: sorted(map(str, v)) if k == "references" and isinstance(v, list)
                else _sorted_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sorted_references(v) for v in value]
    return value


def differs(committed: Path, fresh: str) -> bool:
    if not committed.is_file():
        return True
    try:
        return _comparable(committed.read_text(encoding="utf-8")) != _comparable(fresh)
    except json.JSONDecodeError:
        return True


def _diff_excerpt(committed: Path, fresh: str, limit: int = 40) -> str:
    old = committed.read_text(encoding="utf-8").splitlines() if committed.is_file() else []
    lines = list(
        difflib.unified_diff(old, fresh.splitlines(), str(committed), "regenerated", lineterm="")
    )
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def run(
    cases: Iterable[str],
    *,
    jobs: int,
    check: bool,
    verbose: bool = True,
    plans_dir: Path = PLANS_DIR,
    reattach: bool = True,
) -> int:
    """Regenerate (or check) `cases`; the process exit code."""
    tools = toolchain()
    cases = list(cases)
    started = time.monotonic()

    def one(case: str) -> tuple[str, str | None, str | None]:
        begun = time.monotonic()
        try:
            text = plan_case(case, tools, plans_dir, reattach=reattach)
        except GenerationError as exc:
            return case, None, str(exc)
        if verbose:
            print(f"  {case}: planned in {time.monotonic() - begun:.1f}s", file=sys.stderr)
        return case, text, None

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, cases))

    errors = [(case, err) for case, _, err in results if err is not None]
    stale: list[str] = []
    for case, text, err in results:
        if err is not None or text is None:
            continue
        target = plans_dir / case / PLAN_FILE
        if check:
            if differs(target, text):
                stale.append(case)
                if verbose:
                    print(_diff_excerpt(target, text), file=sys.stderr)
        elif not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            if verbose:
                print(f"wrote {target.relative_to(plans_dir.parent.parent)}", file=sys.stderr)
    elapsed = time.monotonic() - started
    for _case, err in errors:
        print(f"error: {err}", file=sys.stderr)
    if check and stale:
        print(
            "plan.json out of date for: " + ", ".join(stale) + "\n"
            "regenerate with: python scripts/generate_fixtures.py "
            + " ".join(f"--case {c}" for c in stale),
            file=sys.stderr,
        )
    if verbose:
        print(f"{len(cases)} case(s) in {elapsed:.1f}s", file=sys.stderr)
    if errors:
        return 2
    return 1 if stale else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate in a temp dir; exit 1 listing cases whose plan differs")
    parser.add_argument("--case", action="append", default=[], metavar="NAME",
                        help="only this case (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="cases planned in parallel (default: 2 or the CPU count)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    parser.add_argument("--no-shared-provider", action="store_true",
                        help="let terraform start the provider itself for every command "
                             "(slower; the default shares one provider process per case)")
    parser.add_argument("--plans-dir", type=Path, default=PLANS_DIR,
                        help="the corpus: fixtures/plans (default) or fixtures/hcl-policies")
    args = parser.parse_args(argv)

    known = list_cases(args.plans_dir)
    cases = args.case or known
    unknown = [c for c in cases if c not in known]
    if unknown:
        print(f"error: no such case: {', '.join(unknown)} (known: {', '.join(known)})",
              file=sys.stderr)
        return 2
    if not cases:
        print(f"error: no case directories under {args.plans_dir}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        return run(cases, jobs=args.jobs, check=args.check, verbose=not args.quiet,
                   plans_dir=args.plans_dir, reattach=not args.no_shared_provider)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: terraform stopped, temporary directories removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
