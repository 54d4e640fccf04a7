"""The command line as users script it: exit codes, the JSON contract, errors, options."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .cli_builders import cluster_plan, write
from .conftest import run_tfcheck

# Only the cluster policies decide on these hand-written plans.
CLUSTER_POLICIES = "--policy=PC101,PC102"


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path / "good.json", cluster_plan(True, False))


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    return write(tmp_path / "bad.json", cluster_plan(None, None))


def test_clean_plan_exits_0(good: Path) -> None:
    result = run_tfcheck("scan", str(good), CLUSTER_POLICIES)
    assert result.returncode == 0, result.stderr
    assert "0 failed, 2 passed" in result.stdout


def test_failures_exit_1_and_json_follows_the_contract(bad: Path) -> None:
    result = run_tfcheck("scan", bad.name, CLUSTER_POLICIES, "--format", "json", cwd=bad.parent)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["tool"] == {"name": "tfcheck", "version": document["tool"]["version"]}
    assert document["inputs"] == [{"path": "bad.json", "kind": "plan"}]
    assert document["summary"] == {"fail": 2, "pass": 0, "unknown": 0, "suppressed": 0,
                                   "baselined": 0}
    by_rule = {f["rule_id"]: f for f in document["findings"]}
    private = by_rule["PC101"]
    assert private["slug"] == "cluster-private-endpoint"
    assert private["severity"] == "high"
    assert private["status"] == "fail"
    assert private["address"] == "aws_eks_cluster.main"
    assert private["file"] is None and private["line"] is None
    assert "not set (provider default false)" in private["message"]
    assert "endpoint_private_access = true" in private["remediation"]
    assert private["suppressed"] is False
    public = by_rule["PC102"]
    assert public["severity"] == "high"  # open to 0.0.0.0/0 by default
    assert public["data"] == {"public_access_cidrs": ["0.0.0.0/0"]}
    for finding in document["findings"]:
        assert {"rule_id", "slug", "severity", "status", "address", "file", "line", "message",
                "remediation", "evidence", "data", "suppressed"} <= set(finding)


def test_restricted_public_endpoint_is_medium_and_fail_on_high_lets_it_pass(
    tmp_path: Path,
) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(True, True, ["203.0.113.0/24"]))
    result = run_tfcheck("scan", str(plan), CLUSTER_POLICIES, "-f", "json")
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule_id"], f["severity"]) for f in findings] == [("PC102", "medium")]
    assert result.returncode == 1
    assert run_tfcheck("scan", str(plan), CLUSTER_POLICIES, "--fail-on", "high").returncode == 0


def test_show_passed_lists_passes(good: Path) -> None:
    result = run_tfcheck("scan", str(good), CLUSTER_POLICIES, "-f", "json", "--show-passed")
    statuses = sorted((f["rule_id"], f["status"]) for f in json.loads(result.stdout)["findings"])
    assert statuses == [("PC101", "pass"), ("PC102", "pass")]
    hidden = run_tfcheck("scan", str(good), CLUSTER_POLICIES, "-f", "json")
    assert json.loads(hidden.stdout)["findings"] == []


def test_unreadable_input_exits_2_names_line_and_column_and_scans_the_rest(
    tmp_path: Path, bad: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "format_version": "1.2",\n  oops\n}\n', encoding="utf-8")
    result = run_tfcheck("scan", str(broken), str(bad), CLUSTER_POLICIES, "-f", "json",
                         cwd=tmp_path)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["errors"][0]["path"] == "broken.json"  # from the root (here: the cwd)
    assert result.stderr.startswith(f"tfcheck: error: {broken}:3:3: invalid JSON")
    assert (document["errors"][0]["line"], document["errors"][0]["column"]) == (3, 3)
    assert document["summary"]["fail"] == 2  # the good input was still scanned
    assert "Traceback" not in result.stderr


def test_pretty_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": "1.2",', encoding="utf-8")
    for fmt in ("pretty", "json", "sarif", "junit", "markdown", "github"):
        result = run_tfcheck("scan", str(broken), "-f", fmt)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"tfcheck: error: {broken}:1:26: invalid JSON: Expecting property name enclosed "
            f"in double quotes"], fmt
        assert "Traceback" not in result.stdout + result.stderr


def test_missing_path_and_wrong_flags_exit_2(tmp_path: Path, good: Path) -> None:
    assert run_tfcheck("scan", str(tmp_path / "nope.json")).returncode == 2
    unknown_policy = run_tfcheck("scan", str(good), "--policy", "PC999")
    assert unknown_policy.returncode == 2
    assert "unknown policy 'PC999'" in unknown_policy.stderr
    assert run_tfcheck("scan", str(good), "--fail-on", "huge").returncode == 2
    assert run_tfcheck("scan", str(good), "--format", "yaml").returncode == 2
    assert run_tfcheck("scan", str(good), "--var", "novalue").returncode == 2
    assert run_tfcheck("scan").returncode == 2


def test_plan_on_stdin(bad: Path) -> None:
    result = run_tfcheck("scan", "-", CLUSTER_POLICIES, "-f", "json", stdin=bad.read_bytes())
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["inputs"] == [{"path": "<stdin>", "kind": "plan"}]
    assert {f["rule_id"] for f in document["findings"]} == {"PC101", "PC102"}


def test_output_is_deterministic_and_can_go_to_files(tmp_path: Path, bad: Path) -> None:
    first = run_tfcheck("scan", str(bad), "-f", "json", "-o", str(tmp_path / "a.json"),
                        "-f", "pretty")
    second = run_tfcheck("scan", str(bad), "-f", "json", "-o", str(tmp_path / "b.json"))
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert "failed" in first.stdout  # pretty went to stdout
    assert second.stdout == ""


def test_skip_policy_by_slug(bad: Path) -> None:
    result = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--skip-policy",
                         "cluster-public-endpoint", "-f", "json")
    assert [f["rule_id"] for f in json.loads(result.stdout)["findings"]] == ["PC101"]


def test_baseline_reports_only_new_failures(tmp_path: Path, bad: Path) -> None:
    baseline = tmp_path / "baseline.json"
    first = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--write-baseline", str(baseline))
    assert first.returncode == 0  # recording today's failures is what was asked
    recorded = json.loads(baseline.read_text())["findings"]
    assert sorted(e["rule_id"] for e in recorded) == ["PC101", "PC102"]
    again = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--baseline", str(baseline),
                        "-f", "json")
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["summary"]["baselined"] == 2
    assert "2 known failures recorded in the baseline not shown" in again.stderr


def test_config_file_overrides_severity_and_selection(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(True, None))
    (tmp_path / ".tfcheck.toml").write_text(
        'policies = ["PC101", "PC102"]\nfail-on = "high"\n'
        '[severity_overrides]\nPC102 = "low"\n', encoding="utf-8")
    result = run_tfcheck("scan", str(plan), "-f", "json")
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule_id"], f["severity"]) for f in findings] == [("PC102", "low")]
    assert result.returncode == 0  # low is below fail-on high


def test_bad_config_file_is_a_user_error(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(True, None))
    (tmp_path / ".tfcheck.toml").write_text("fail_on = 'sometimes'\n", encoding="utf-8")
    result = run_tfcheck("scan", str(plan))
    assert result.returncode == 2
    assert ".tfcheck.toml" in result.stderr and "fail_on" in result.stderr


def test_policies_and_explain() -> None:
    listed = json.loads(run_tfcheck("policies", "--format", "json").stdout)
    assert {"id": "PC101", "slug": "cluster-private-endpoint", "severity": "high"}.items() <= \
        listed[0].items()
    explained = run_tfcheck("explain", "cluster-private-endpoint")
    assert explained.returncode == 0
    assert "Endpoint private access is required" in explained.stdout
    assert "\nBAD\n" in explained.stdout and "\nGOOD\n" in explained.stdout
    assert "```" not in explained.stdout  # rendered, not raw Markdown
    source = run_tfcheck("explain", "PC101", "--markdown")
    assert "## Bad" in source.stdout and "## Good" in source.stdout
    assert run_tfcheck("explain", "PC999").returncode == 2


def test_graph_command_exports_edges(tmp_path: Path) -> None:
    plan = Path(__file__).resolve().parent.parent / "fixtures/loader/modules-aliases/plan.json"
    result = run_tfcheck("graph", str(plan), "--format", "json")
    document = json.loads(result.stdout)
    assert {"source": "aws_eks_cluster.c", "target": "module.net.aws_subnet.s[0]",
            "attribute": "vpc_config.subnet_ids"} in document["edges"]
    mermaid = run_tfcheck("graph", str(plan), "--format", "mermaid", "--cluster",
                          "aws_eks_cluster.c")
    assert mermaid.stdout.startswith("flowchart LR")
    assert "module.multi" not in mermaid.stdout  # not part of this cluster's network
    dot = run_tfcheck("graph", str(plan))
    assert '"aws_eks_cluster.c" -> "module.net.aws_subnet.s[1]"' in dot.stdout


def test_config_keys_may_be_spelled_like_the_flags(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, None))
    (tmp_path / ".tfcheck.toml").write_text(
        'policy = ["PC101", "PC102"]\nskip-policy = "PC102"\n', encoding="utf-8")
    findings = json.loads(run_tfcheck("scan", str(plan), "-f", "json").stdout)["findings"]
    assert [f["rule_id"] for f in findings] == ["PC101"]


PRIVATE_OFF = '''resource "aws_eks_cluster" "main" {
  name     = "main"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {
    subnet_ids              = ["subnet-0aaa"]
    endpoint_private_access = false
  }
}
'''


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """Two root modules under envs/, no .tf file at the top, a git work tree."""
    (tmp_path / ".git").mkdir()
    for env in ("prod", "stage"):
        (tmp_path / "envs" / env).mkdir(parents=True)
        (tmp_path / "envs" / env / "main.tf").write_text(PRIVATE_OFF)
    return tmp_path


def test_output_pairs_with_the_format_just_before_it(tmp_path: Path, bad: Path) -> None:
    sarif = tmp_path / "out.sarif"
    result = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "-f", "pretty", "-f", "sarif",
                         "-o", str(sarif))
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert "2 failed" in result.stdout  # pretty on stdout
    both = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--format=json",
                       f"--output={tmp_path / 'a.json'}", "-fjunit", f"-o{tmp_path / 'a.xml'}")
    assert both.stdout == ""
    assert json.loads((tmp_path / "a.json").read_text())["summary"]["fail"] == 2
    assert (tmp_path / "a.xml").read_text().startswith("<?xml")
    guessed = run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "-o", str(tmp_path / "g.sarif"))
    assert json.loads((tmp_path / "g.sarif").read_text())["version"] == "2.1.0"
    assert guessed.stdout == ""
    twice = run_tfcheck("scan", str(bad), "-f", "json", "-o", "a", "-o", "b")
    assert twice.returncode == 2
    assert "give each --output its own --format" in twice.stderr


def test_an_error_reaches_stderr_whatever_the_format(tmp_path: Path) -> None:
    result = run_tfcheck("scan", "nope", "-f", "sarif", "-o", str(tmp_path / "x.sarif"))
    assert result.returncode == 2
    assert result.stderr == "tfcheck: error: nope: no such file or directory\n"
    sarif = json.loads((tmp_path / "x.sarif").read_text())
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_monorepo_root_scans_every_root_module_with_paths_from_the_repo_root(
    monorepo: Path,
) -> None:
    result = run_tfcheck("scan", ".", "--policy", "PC101", "-f", "json", cwd=monorepo)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert [i["path"] for i in document["inputs"]] == ["envs/prod", "envs/stage"]
    assert sorted(f["file"] for f in document["findings"]) == ["envs/prod/main.tf",
                                                               "envs/stage/main.tf"]
    # the same paths from a subdirectory: relative to the repository, not the cwd
    inner = run_tfcheck("scan", "prod", "--policy", "PC101", "-f", "github",
                        cwd=monorepo / "envs")
    assert "file=envs/prod/main.tf,line=6" in inner.stdout


def test_missing_var_file_is_an_error_and_no_findings_are_printed(monorepo: Path) -> None:
    result = run_tfcheck("scan", "envs/prod", "--var-file", "prod.tfvars", "-f", "json",
                         cwd=monorepo)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == \
        "tfcheck: error: prod.tfvars: --var-file: no such file"
    assert json.loads(result.stdout)["findings"] == []


def test_flags_that_do_not_apply_are_warnings(monorepo: Path, good: Path) -> None:
    hcl = run_tfcheck("scan", "envs/prod", "--changed-only", "--policy", "PC101",
                      cwd=monorepo)
    assert "tfcheck: warning: --changed-only applies to plans only" in hcl.stderr
    plan = run_tfcheck("scan", str(good), "--var", "a=b", CLUSTER_POLICIES)
    assert "tfcheck: warning: --var-file, --var and --env-vars apply to HCL only" in plan.stderr
    assert run_tfcheck("scan", str(good), "--source", "no-such-dir").returncode == 2


def test_soft_fail_quiet_and_no_color(bad: Path, good: Path) -> None:
    assert run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--soft-fail").returncode == 0
    assert run_tfcheck("scan", str(bad), CLUSTER_POLICIES, "--exit-zero").returncode == 0
    assert run_tfcheck("scan", "nope", "--soft-fail").returncode == 2  # errors still count
    quiet = run_tfcheck("scan", str(good), CLUSTER_POLICIES, "--quiet")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    for command in (["scan", str(good)], ["policies"], ["explain", "PC101"],
                    ["graph", str(good)]):
        assert run_tfcheck(*command, "--no-color").returncode in (0, 1)


def test_command_line_mistakes_are_one_line_with_a_suggestion(good: Path) -> None:
    result = run_tfcheck("scan", str(good), "--fial-on", "high")
    assert result.returncode == 2
    assert result.stderr == ("tfcheck: error: no such option --fial-on (did you mean "
                             "--fail-on?) (see `tfcheck scan --help`)\n")
    assert run_tfcheck("explain", "PC1O1").stderr.startswith(
        "tfcheck: error: unknown policy 'PC1O1' (did you mean PC101?)")


def test_help_names_values_not_python_types() -> None:
    text = run_tfcheck("scan", "--help").stdout
    assert "list[" not in text and "<str>" not in text and "<path>" not in text
    assert "-f, --format FORMAT" in text and "--soft-fail, --exit-zero" in text
    assert "--install-completion" in run_tfcheck("--help").stdout


def test_policies_lists_packs_and_fits_the_terminal() -> None:
    result = run_tfcheck("policies", env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    rows = json.loads(run_tfcheck("policies", "-f", "json").stdout)
    assert {row["pack"] for row in rows} == {"builtin"}


def test_progress_shows_on_a_terminal_after_a_while_and_is_cleared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from tfcheck import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", terminal)
    monkeypatch.setattr(cli, "PROGRESS_AFTER", 0.0)
    progress = cli._Progress(enabled=True)
    progress(2, 7, "envs/prod")
    assert "tfcheck: scanning envs/prod (2/7)" in terminal.getvalue()
    progress.done()
    assert terminal.getvalue().endswith("\r")
    quiet = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", quiet)
    cli._Progress(enabled=False)(1, 1, "x")
    assert quiet.getvalue() == ""


def test_shell_completion_completes_flags() -> None:
    script = run_tfcheck("--show-completion", "bash")
    assert "_tfcheck_completion" in script.stdout
    completed = run_tfcheck(env={"_TFCHECK_COMPLETE": "complete_bash",
                                 "COMP_WORDS": "tfcheck scan --fa", "COMP_CWORD": "2"})
    assert completed.stdout.split() == ["--fail-on", "--fail-on-unknown"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_pre_commit_mode_finds_staged_deletions_and_renames(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tfcheck.cli import _deleted_files

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                        "-c", "commit.gpgsign=false", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "envs/prod").mkdir(parents=True)
    for name in ("main.tf", "endpoints.tf", "nodes.tf", "README.md"):
        (tmp_path / "envs/prod" / name).write_text("# x\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "start")
    git("rm", "-q", "envs/prod/endpoints.tf", "envs/prod/README.md")
    git("mv", "envs/prod/nodes.tf", "envs/prod/workers.tf")
    monkeypatch.chdir(tmp_path)
    assert sorted(_deleted_files()) == ["envs/prod/endpoints.tf", "envs/prod/nodes.tf"]
    commit = run_tfcheck("scan", "--pre-commit", "-f", "json", cwd=tmp_path)
    assert [i["path"] for i in json.loads(commit.stdout)["inputs"]] == ["envs/prod"]


def test_the_scanned_graph_and_report_live_until_the_process_exits(
    bad: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` exits with os._exit: what is still referenced is never freed object by object."""
    from tfcheck import cli
    from tfcheck.graph import ResourceGraph
    from tfcheck.model import Report

    monkeypatch.setattr(cli, "_KEPT_TO_EXIT", {})
    monkeypatch.setattr("sys.argv", ["tfcheck", "scan", str(bad), CLUSTER_POLICIES, "-f", "json"])
    with pytest.raises(SystemExit):
        cli.main()
    assert json.loads(capsys.readouterr().out)["summary"]["fail"] >= 1
    kept = cli._KEPT_TO_EXIT.values()
    assert {type(value) for value in kept} == {ResourceGraph, Report}
