"""Inline suppressions end to end, and binary plan files (terraform show -json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, run_tfcheck
from .fixture_generator import generator

CLUSTER = '''
{comment}
resource "aws_eks_cluster" "main" {{
  name     = "main"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {{
    subnet_ids              = ["subnet-0aaa"]
    endpoint_private_access = true
  }}
}}
'''


def scan_json(directory: Path, *extra: str) -> tuple[int, dict[str, object]]:
    result = run_tfcheck("scan", str(directory), "--policy", "PC101,PC102", "-f", "json",
                         *extra)
    return result.returncode, json.loads(result.stdout)


def test_a_suppression_with_a_reason_is_listed_and_does_not_fail(tmp_path: Path) -> None:
    comment = "# tfcheck:ignore PC102 reached from the office VPN only"
    (tmp_path / "main.tf").write_text(CLUSTER.format(comment=comment))
    code, document = scan_json(tmp_path)
    assert code == 0
    (finding,) = document["findings"]  # type: ignore[misc]
    assert finding["rule_id"] == "PC102" and finding["suppressed"] is True
    assert finding["suppression_reason"] == "reached from the office VPN only"
    assert document["summary"] == {"fail": 0, "pass": 1, "unknown": 0, "suppressed": 1,
                                   "baselined": 0}


def test_a_suppression_without_a_reason_is_reported_and_not_applied(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CLUSTER.format(comment="# tfcheck:ignore PC102"))
    code, document = scan_json(tmp_path)
    assert code == 1
    assert [f["suppressed"] for f in document["findings"]] == [False]  # type: ignore[attr-defined]
    (warning,) = document["warnings"]  # type: ignore[misc]
    assert "main.tf:2" in warning and "has no reason" in warning


def test_a_binary_plan_without_terraform_says_how_to_convert(tmp_path: Path) -> None:
    binary = tmp_path / "tfplan"
    binary.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    result = run_tfcheck("scan", str(binary), env={"PATH": "/nonexistent"})
    assert result.returncode == 2
    assert "terraform show -json tfplan > plan.json" in result.stderr  # errors: stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("terraform") is None or generator.find_mirror() is None,
                    reason="needs terraform and the offline hashicorp/aws provider mirror")
def test_a_binary_plan_is_converted_with_terraform(tmp_path: Path) -> None:
    shutil.copy(REPO / "examples" / "nat-egress-cluster" / "main.tf", tmp_path / "main.tf")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1"}
    for command in (["init", "-input=false", f"-plugin-dir={generator.find_mirror()}"],
                    ["plan", "-input=false", "-refresh=false", "-out=tfplan"]):
        subprocess.run(["terraform", *command], cwd=tmp_path, env=env, check=True,
                       capture_output=True, timeout=600)
    result = run_tfcheck("scan", str(tmp_path / "tfplan"), "-f", "json",
                         env={"TF_CLI_CONFIG_FILE": "/dev/null"})
    document = json.loads(result.stdout)
    assert result.returncode == 1, document
    # paths from the repository root: here (no .git above) the working directory
    relative = os.path.relpath(tmp_path / "tfplan", REPO)
    assert document["inputs"] == [{"path": relative, "kind": "plan"}]
    assert ("PC201", "aws_subnet.private[1]") in {
        (f["rule_id"], f["address"]) for f in document["findings"]}
