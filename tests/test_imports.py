"""Which heavy libraries a command imports: only those it uses (issue 10).

Each command runs in a fresh interpreter; at exit it lists the heavy top-level modules
it loaded. No timing: the modules loaded are the property, their cost is bench/'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .cli_builders import cluster_plan, write
from .conftest import REPO

HEAVY = ("pydantic", "rich", "networkx", "hcl2", "lark", "typer", "tfcheck.hcl", "yaml")

PROBE = """
import atexit, json, sys
heavy = json.loads(sys.argv[1])
def report():
    loaded = sorted(name for name in heavy if name in sys.modules)
    sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
atexit.register(report)
sys.argv = ["tfcheck", *sys.argv[2:]]
from {module} import main
main()
"""


def loaded_by(*args: str, module: str = "tfcheck.cli",
              env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("{module}", module), json.dumps(HEAVY), *args],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})})
    assert done.returncode in (0, 1), done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    return list(json.loads(line[len("LOADED "):]))


def test_version_imports_no_framework() -> None:  # the console script is the launcher
    assert loaded_by("--version", module="tfcheck.launcher") == []


def test_help_needs_only_typer() -> None:
    assert loaded_by("--help") == ["typer"]
    assert loaded_by("scan", "--help") == ["typer"]


def test_plan_scan_as_json_loads_no_pydantic_rich_or_hcl(tmp_path: Path) -> None:
    plan = write(tmp_path / "plan.json", cluster_plan(None, None))
    assert loaded_by("scan", str(plan), "--format", "json", "--policy", "PC101",
                     "--fail-on-unknown") == ["networkx", "typer"]


def test_warm_hcl_scan_does_not_load_the_parser(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text(
        'resource "aws_eks_cluster" "c" {\n  name = "c"\n  role_arn = "arn"\n'
        '  vpc_config {\n    subnet_ids = ["subnet-1"]\n  }\n}\n', encoding="utf-8")
    env = {"TFCHECK_CACHE_DIR": str(tmp_path / "cache")}
    cold = loaded_by("scan", str(tree), "--format", "json", env=env)
    assert "lark" in cold and "yaml" not in cold  # PyYAML: for yamlencode/yamldecode only
    assert loaded_by("scan", str(tree), "--format", "json", env=env) == [
        "networkx", "tfcheck.hcl", "typer"]


def test_plan_scan_without_workloads_does_not_load_yaml(tmp_path: Path) -> None:
    """PyYAML is imported on the first YAML parse, not by the policy pack's imports."""
    plan = write(tmp_path / "plan.json", cluster_plan(None, None))
    assert "yaml" not in loaded_by("scan", str(plan), "--format", "json")


def test_command_annotations_are_objects_typer_need_not_evaluate() -> None:
    """typer reads every command's annotations on each run; strings it compiles and
    evaluates again each time (~5 ms), so tfcheck/cli.py keeps them as objects."""
    import inspect

    from tfcheck import cli

    commands = [cli._root, cli.scan_command, cli.policies_command, cli.explain_command,
                cli.graph_command, cli.images_command]
    assert not [(command.__name__, name) for command in commands
                for name, annotation in inspect.get_annotations(command).items()
                if isinstance(annotation, str)]
