"""The composite GitHub Action (action.yml): its structure, and its scan step run locally.

The scan step's script runs here as GitHub runs it (`bash --noprofile --norc -eo
pipefail`), with the `${{ }}` expressions of its `env` evaluated from the inputs, so
what the action does with a failing and a passing root module is checked for real;
only the `uses:` steps (setup-python, upload-sarif) and pip install are left to GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import FIXTURES, REPO

ACTION = REPO / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ACTION.read_text())
    return document


def steps(action: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = action["runs"]["steps"]
    return result


def step(action: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in steps(action) if s["name"] == name]
    return found


def expressions(value: object) -> list[str]:
    """Every `${{ }}` expression in a YAML value, recursively."""
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return EXPRESSION.findall(value) if isinstance(value, str) else []


SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
UPLOAD_SARIF = "github/codeql-action/upload-sarif@5d4e8d1aca955e8d8589aabd499c5cae939e33c7"


def test_metadata_and_inputs(action: dict[str, Any]) -> None:
    assert action["name"] == "tfcheck"
    assert action["description"]
    assert action["runs"]["using"] == "composite"
    # no `version` input: installing a name from a package index is a supply-chain risk;
    # the version is the ref in `uses:`
    assert set(action["inputs"]) == {"path", "plan", "format", "fail-on", "args",
                                     "python-version", "upload-sarif", "sarif-file",
                                     "summary", "category"}
    for name, spec in action["inputs"].items():
        assert spec["description"], name
        assert "default" in spec and spec["required"] is False, name
    assert action["inputs"]["fail-on"]["default"] == "low"
    assert action["inputs"]["upload-sarif"]["default"] == "true"
    assert action["inputs"]["format"]["default"] == "pretty github"  # annotations by default


def test_inputs_used_are_declared_and_declared_inputs_are_used(action: dict[str, Any]) -> None:
    used = {m.group(1) for e in expressions(action) for m in re.finditer(r"inputs\.([\w-]+)", e)}
    assert used == set(action["inputs"])


def test_every_run_step_has_a_shell_and_no_expression_in_its_script(
        action: dict[str, Any]) -> None:
    run_steps = [s for s in steps(action) if "run" in s]
    assert len(run_steps) == 4
    for s in run_steps:
        assert s["shell"] == "bash", s["name"]
        # inputs reach scripts through env only: a value cannot inject shell code
        assert not EXPRESSION.search(s["run"]), s["name"]
        for variable in re.findall(r"\$\{?(TFCHECK_\w+)", s["run"]):
            assert variable in s.get("env", {}), (s["name"], variable)


def test_actions_are_pinned_by_commit_sha(action: dict[str, Any]) -> None:
    used = [s["uses"] for s in steps(action) if "uses" in s]
    assert used == [SETUP_PYTHON, UPLOAD_SARIF]
    for reference in used:
        assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", reference), reference


def test_step_order_and_conditions(action: dict[str, Any]) -> None:
    assert [s["name"] for s in steps(action)] == [
        "Set up Python", "Install tfcheck", "Scan", "Upload SARIF to code scanning",
        "Say why SARIF did not reach code scanning", "Exit with tfcheck's exit code"]
    setup = step(action, "Set up Python")
    # later steps of the user's job keep their own Python
    assert setup["with"] == {"python-version": "${{ inputs.python-version }}",
                             "update-environment": False}
    upload = step(action, "Upload SARIF to code scanning")
    assert upload["continue-on-error"] is True
    assert "github.event.pull_request.head.repo.full_name != github.repository" in upload["if"]
    assert upload["with"] == {"sarif_file": "${{ steps.scan.outputs.sarif-file }}",
                              "category": "${{ inputs.category }}"}
    explain = step(action, "Say why SARIF did not reach code scanning")
    assert "steps.upload.outcome != 'success'" in explain["if"]
    assert "fork" in explain["run"] and "security-events: write" in explain["run"]
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.scan.outputs.exit-code }}"


def test_installs_the_actions_own_checkout_into_its_own_venv(action: dict[str, Any]) -> None:
    install = step(action, "Install tfcheck")
    assert install["env"] == {"TFCHECK_PYTHON": "${{ steps.python.outputs.python-path }}",
                              "TFCHECK_ACTION_PATH": "${{ github.action_path }}"}
    assert '"$TFCHECK_PYTHON" -m venv "$venv"' in install["run"]
    assert '"$venv/bin/python" -m pip install' in install["run"]
    assert install["run"].rstrip().endswith('"$TFCHECK_ACTION_PATH"\necho "bin=$venv/bin" >> '
                                            '"$GITHUB_OUTPUT"')
    assert "tfcheck==" not in ACTION.read_text()


def test_scan_step_references_the_inputs(action: dict[str, Any]) -> None:
    scan = step(action, "Scan")
    assert scan["id"] == "scan"
    assert scan["env"] == {
        "TFCHECK_BIN": "${{ steps.install.outputs.bin }}",
        "TFCHECK_PATH": "${{ inputs.path }}",
        "TFCHECK_PLAN": "${{ inputs.plan }}",
        "TFCHECK_FORMATS": "${{ inputs.format }}",
        "TFCHECK_FAIL_ON": "${{ inputs.fail-on }}",
        "TFCHECK_ARGS": "${{ inputs.args }}",
        "TFCHECK_SARIF": "${{ inputs.sarif-file }}",
        "TFCHECK_SUMMARY": "${{ inputs.summary }}",
    }
    assert 'target="${TFCHECK_PLAN:-$TFCHECK_PATH}"' in scan["run"]
    assert '--format sarif --output "$TFCHECK_SARIF"' in scan["run"]
    assert '--fail-on "$TFCHECK_FAIL_ON"' in scan["run"]


# --- the scan and exit steps, run locally -------------------------------------------------

def evaluate(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression.startswith("steps.scan.outputs."):
            return outputs.get(expression.removeprefix("steps.scan.outputs."), "")
        if expression == "github.action_path":
            return str(REPO)
        if expression == "steps.install.outputs.bin":
            return str(Path(sys.executable).parent)  # this venv has tfcheck installed
        raise AssertionError(f"the test cannot evaluate ${{{{ {expression} }}}}")

    return EXPRESSION.sub(one, value)


def run_step(action: dict[str, Any], name: str, workspace: Path, overrides: dict[str, str],
             outputs: dict[str, str], summary: Path | None = None
             ) -> subprocess.CompletedProcess[str]:
    """One run step as GitHub runs it; its GITHUB_OUTPUT lines are added to `outputs`."""
    inputs = {k: v["default"] for k, v in action["inputs"].items()} | overrides
    spec = step(action, name)
    output_file = workspace / f".github-output-{len(outputs)}"
    output_file.write_text("")
    script = workspace / ".step.sh"
    script.write_text(spec["run"])
    env = {**os.environ, "NO_COLOR": "1", "GITHUB_OUTPUT": str(output_file),
           "GITHUB_STEP_SUMMARY": str(summary or workspace / ".step-summary.md"),
           "RUNNER_TEMP": str(workspace / ".runner-temp")}
    env |= {key: evaluate(str(value), inputs, outputs) for key, value in spec["env"].items()}
    result = subprocess.run([*GITHUB_BASH, str(script)], cwd=workspace, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    for line in output_file.read_text().splitlines():
        key, _, value = line.partition("=")
        outputs[key] = value
    return result


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    if shutil.which("tfcheck", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the tfcheck command is not installed in this environment (pip install -e .)")
    shutil.copytree(FIXTURES / "precommit", tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_scan_step_on_a_failing_module_then_exit_step_fails(
        action: dict[str, Any], workspace: Path) -> None:
    outputs: dict[str, str] = {}
    scan = run_step(action, "Scan", workspace, {"path": "bad"}, outputs)
    assert scan.returncode == 0, scan.stderr  # the step itself succeeds: upload comes next
    assert outputs == {"exit-code": "1", "sarif-file": "tfcheck.sarif"}
    assert "PC101" in scan.stdout and "aws_eks_cluster.main" in scan.stdout  # pretty, in the log
    sarif = json.loads((workspace / "tfcheck.sarif").read_text())
    results = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
               for r in sarif["runs"][0]["results"]}
    assert ("PC101", "bad/main.tf") in results
    done = run_step(action, "Exit with tfcheck's exit code", workspace, {"path": "bad"}, outputs)
    assert done.returncode == 1


def test_scan_step_on_a_passing_module_with_formats_and_args(
        action: dict[str, Any], workspace: Path) -> None:
    outputs: dict[str, str] = {}
    scan = run_step(action, "Scan", workspace,
                    {"path": "good", "format": "pretty,github",
                     "args": "--show-passed --policy PC101", "sarif-file": "out/t.sarif"},
                    outputs)
    assert scan.returncode == 0, scan.stderr
    assert outputs["exit-code"] == "0", scan.stdout + scan.stderr
    assert scan.stdout.rstrip().endswith(
        "tfcheck: 0 failed, 0 unknown, 0 suppressed, 1 passed")  # the github format
    sarif = json.loads((workspace / "out" / "t.sarif").read_text())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["PC101"]
    assert sarif["runs"][0]["results"][0]["kind"] == "pass"
    done = run_step(action, "Exit with tfcheck's exit code", workspace, {}, outputs)
    assert done.returncode == 0


def test_fail_on_raises_the_bar(action: dict[str, Any], workspace: Path) -> None:
    outputs: dict[str, str] = {}
    run_step(action, "Scan", workspace,
             {"path": "bad", "fail-on": "critical", "format": "json"}, outputs)
    assert outputs["exit-code"] == "0"


def test_unreadable_input_keeps_the_exit_code_and_skips_upload(
        action: dict[str, Any], workspace: Path) -> None:
    outputs: dict[str, str] = {}
    scan = run_step(action, "Scan", workspace, {"plan": "missing-plan.json"}, outputs)
    assert scan.returncode == 0
    assert outputs.get("exit-code") == "2", scan.stderr
    assert "missing-plan.json" in scan.stdout + scan.stderr
    if outputs.get("sarif-file"):  # a SARIF naming the error may be written; upload is harmless
        assert (workspace / outputs["sarif-file"]).is_file()
    done = run_step(action, "Exit with tfcheck's exit code", workspace, {}, outputs)
    assert done.returncode == 2


def test_default_path_scans_every_root_module_and_writes_the_job_summary(
        action: dict[str, Any], workspace: Path) -> None:
    (workspace / ".git").mkdir()  # the checkout: paths are relative to it
    summary = workspace / "summary.md"
    outputs: dict[str, str] = {}
    scan = run_step(action, "Scan", workspace, {}, outputs, summary=summary)
    assert outputs["exit-code"] == "1", scan.stdout + scan.stderr
    # annotations by default, paths from the repository root
    assert "::error file=bad/main.tf," in scan.stdout
    text = summary.read_text()
    assert text.startswith("<!-- tfcheck -->\n### ❌ tfcheck:")
    assert "`bad`" in text and "`good`" in text and "`split`" in text


def test_args_are_split_like_a_shell_not_on_every_space(
        action: dict[str, Any], workspace: Path) -> None:
    (workspace / "prod vars.tfvars").write_text('cluster_name = "from-the-var-file"\n')
    outputs: dict[str, str] = {}
    scan = run_step(action, "Scan", workspace,
                    {"path": "good", "format": "json",
                     "args": '--var-file "prod vars.tfvars" --policy PC101'}, outputs)
    assert outputs["exit-code"] == "0", scan.stdout + scan.stderr
    assert "no such file" not in scan.stderr
    injected = run_step(action, "Scan", workspace,
                        {"path": "good", "format": "json", "args": "--policy '$(touch x)'"},
                        {})
    assert "unknown policy '$(touch x)'" in injected.stderr
    assert not (workspace / "x").exists()
