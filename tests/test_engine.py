"""The engine: policy isolation, redaction, --changed-only, the library API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

import tfcheck
from tfcheck.config import Config
from tfcheck.engine import ScanOptions, scan
from tfcheck.model import Severity, Status
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.registry import load_policies
from tfcheck.report import FORMATS, RenderOptions, renderer
from tfcheck.unknowns import A_PLAN

from .cli_builders import cluster_plan, write

SECRET_CIDR = "198.51.100.0/24"


@policy(id="PC901", slug="always-raises", severity=Severity.LOW, title="raises")
def always_raises(ctx: ScanContext) -> Iterator[Result]:
    """A policy with a bug."""
    raise RuntimeError("boom")
    yield  # pragma: no cover


@policy(id="PC902", slug="leaks", severity=Severity.HIGH, title="leaks")
def leaks_everything(ctx: ScanContext) -> Iterator[Result]:
    """A careless policy that prints the values it decides on."""
    for cluster in ctx.graph.managed("aws_eks_cluster"):
        cidrs = cluster.get("vpc_config.public_access_cidrs")
        yield Result.fail(cluster, f"cidrs are {cidrs}", remediation=f"remove {cidrs}",
                          data={"cidrs": cidrs}, evidence=[cluster.address, str(cidrs)])


def sensitive_plan(tmp_path: Path) -> Path:
    document = cluster_plan(True, True, [SECRET_CIDR])
    change = document["resource_changes"][0]["change"]
    change["after_sensitive"] = {"vpc_config": [{"public_access_cidrs": True}]}
    return write(tmp_path / "sensitive.json", document)


def test_a_raising_policy_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    builtin = [p for p in load_policies()[0] if p.id == "PC101"]
    report = scan([plan], policies=[always_raises, *builtin])
    assert [e.where for e in report.internal_errors] == [f"policy PC901 on {plan}"]
    assert report.internal_errors[0].message == "RuntimeError('boom')"
    assert [(f.rule_id, f.status) for f in report.findings] == [("PC101", Status.FAIL)]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_sensitive_values_never_reach_any_output(tmp_path: Path, fmt: str) -> None:
    builtin = [p for p in load_policies()[0] if p.id == "PC102"]
    report = scan([sensitive_plan(tmp_path)], policies=[leaks_everything, *builtin])
    assert {f.rule_id for f in report.findings} == {"PC102", "PC902"}
    try:
        render = renderer(fmt)
    except ModuleNotFoundError:
        pytest.skip(f"the {fmt} format is not implemented yet")
    text = render(report, RenderOptions(show_passed=True))
    assert SECRET_CIDR not in text
    assert "(sensitive value)" in text or fmt in ("junit",)


def test_changed_only_keeps_findings_on_created_or_updated_resources(tmp_path: Path) -> None:
    document = cluster_plan(None, None)
    plan = write(tmp_path / "p.json", document)
    assert scan([plan], options=ScanOptions(changed_only=True)).findings
    document["resource_changes"][0]["change"]["actions"] = ["no-op"]
    write(plan, document)
    report = scan([plan], options=ScanOptions(changed_only=True))
    assert [f for f in report.findings if f.rule_id in ("PC101", "PC102")] == []


def test_library_api_matches_the_cli(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    report = tfcheck.scan([str(plan)])
    assert report.inputs[0].kind == "plan"
    assert ("PC101", "aws_eks_cluster.main", Status.FAIL) in {
        (f.rule_id, f.address, f.status) for f in report.findings}
    assert json.loads(renderer("json")(report, RenderOptions()))["summary"]["fail"] >= 1


def test_sensitive_hcl_variables_are_redacted(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('''
variable "office_cidr" {
  type      = string
  sensitive = true
  default   = "198.51.100.0/24"
}
resource "aws_eks_cluster" "main" {
  name     = "main"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {
    subnet_ids              = ["subnet-0aaa"]
    endpoint_private_access = true
    public_access_cidrs     = [var.office_cidr]
  }
}
''')
    report = scan([tmp_path], policies=[leaks_everything])
    assert report.findings, report.input_errors
    for fmt in sorted(FORMATS):
        assert SECRET_CIDR not in renderer(fmt)(report, RenderOptions(show_passed=True))


def test_redaction_pattern_matches_what_a_flat_longest_first_alternation_does() -> None:
    """The prefix-tree pattern (linear in findings) redacts exactly like `a|b|c...`."""
    import random
    import re

    from tfcheck.engine import _alternation

    rng = random.Random(7)
    for _ in range(200):
        secrets = sorted({"".join(rng.choice("ab.c(") for _ in range(rng.randint(4, 12)))
                          for _ in range(rng.randint(1, 40))}, key=len, reverse=True)
        tree = re.compile(_alternation(secrets))
        flat = re.compile("|".join(re.escape(s) for s in secrets))
        for _ in range(20):
            text = "".join(rng.choice("ab.c( x") for _ in range(rng.randint(0, 60)))
            assert tree.sub("#", text) == flat.sub("#", text)


def test_redaction_pattern_branches_through_long_shared_prefixes() -> None:
    """100,000 sensitive `subnet-N` ids must not leave 100,000 alternatives at one place.

    A flat run of alternatives is tried at every position of every finding's text, so
    findings x secrets; branching until a handful share a prefix keeps each try short.
    """
    import re

    from tfcheck.engine import _TRIE_LEAF, _alternation

    secrets = sorted((f"subnet-{i:05d}" for i in range(0, 20000, 3)), key=len, reverse=True)
    pattern = _alternation(secrets)
    innermost = re.findall(r"\(\?:([^()]*)\)", pattern)
    assert innermost and max(len(group.split("|")) for group in innermost) <= _TRIE_LEAF + 1
    tree, flat = re.compile(pattern), re.compile("|".join(map(re.escape, secrets)))
    for text in ("subnet-00003, subnet-00004 and subnet-19998x", "subnet-0000", "subnet-"):
        assert tree.sub("#", text) == flat.sub("#", text)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PRIVATE_OFF = '''
resource "aws_eks_cluster" "{name}" {{
  name     = "{name}"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {{
    subnet_ids              = ["subnet-0aaa"]
    endpoint_private_access = false
  }}
}}
'''


def pc401_plan_where_only(tmp_path: Path, changed: str | None) -> Path:
    """The locked-down default SG plan with every change a no-op but `changed`'s."""
    document = json.loads((FIXTURES / "plans/pc401-default-sg-locked-down/plan.json")
                          .read_text(encoding="utf-8"))
    for change in document["resource_changes"]:
        change["change"]["actions"] = ["update"] if change["address"] == changed else ["no-op"]
    return write(tmp_path / "plan.json", document)


def test_changed_only_reports_every_finding_whose_evidence_the_plan_changes(
    tmp_path: Path,
) -> None:
    pc401 = [p for p in load_policies()[0] if p.id == "PC401"]
    everything = scan([pc401_plan_where_only(tmp_path, None)], policies=pc401)
    assert len([f for f in everything.findings if f.status is Status.FAIL]) == 10
    # the pull request touches the endpoints' security group only: all ten endpoints
    report = scan([pc401_plan_where_only(tmp_path, "aws_default_security_group.default")],
                  policies=pc401, options=ScanOptions(changed_only=True))
    assert len([f for f in report.findings if f.status is Status.FAIL]) == 10
    untouched = scan([pc401_plan_where_only(tmp_path, None)], policies=pc401,
                     options=ScanOptions(changed_only=True))
    assert untouched.findings == []


def test_changed_only_on_hcl_is_a_warning_and_reports_everything(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(PRIVATE_OFF.format(name="main"))
    pc101 = [p for p in load_policies()[0] if p.id == "PC101"]
    report = scan(tmp_path, policies=pc101, options=ScanOptions(changed_only=True))
    assert [f.rule_id for f in report.findings] == ["PC101"]
    assert any("--changed-only applies to plans only" in note for note in report.notes)


def test_clusters_config_limits_private_cluster_rules(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(PRIVATE_OFF.format(name="platform")
                                      + PRIVATE_OFF.format(name="public_demo"))
    pc101 = [p for p in load_policies()[0] if p.id == "PC101"]
    config = Config(clusters=("aws_eks_cluster.platform*",))
    report = scan(tmp_path, config=config, policies=pc101)
    assert [f.address for f in report.findings] == ["aws_eks_cluster.platform"]
    assert report.unchecked_clusters == ["aws_eks_cluster.public_demo"]
    text = renderer("pretty")(report, RenderOptions(width=100))
    assert text.count("aws_eks_cluster.public_demo") == 1  # named once, in the summary
    assert "not checked as private clusters (not in the config's `clusters`): " \
        "aws_eks_cluster.public_demo" in text
    document = json.loads(renderer("json")(report, RenderOptions()))
    assert document["summary"]["unchecked_clusters"] == ["aws_eks_cluster.public_demo"]


def test_settings_that_name_nothing_are_warned_about(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        "# tfcheck:ignore PC1O1 typo in the rule ID\n" + PRIVATE_OFF.format(name="main").lstrip())
    config = Config(severity_overrides={"PC999": Severity.LOW},
                    required_endpoints=("kmss",), source=".tfcheck.toml")
    report = scan(tmp_path, config=config)
    notes = "\n".join(report.notes)
    assert ".tfcheck.toml: severity_overrides: no policy 'PC999'" in notes
    assert ".tfcheck.toml: required_endpoints: 'kmss' is not an AWS service endpoint name " \
           "tfcheck knows (did you mean 'kms'?)" in notes
    assert "main.tf:1: `tfcheck:ignore PC1O1` names no policy" in notes


def test_a_missing_var_file_stops_the_scan(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(PRIVATE_OFF.format(name="main"))
    report = scan(tmp_path, options=ScanOptions(var_files=(tmp_path / "prod.tfvars",)))
    assert [(e.path, e.message) for e in report.input_errors] == [
        (str(tmp_path / "prod.tfvars"), "--var-file: no such file")]
    assert report.findings == [] and report.inputs == []


def test_plain_text_plan_says_how_to_get_json(tmp_path: Path) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("\nTerraform used the selected providers to generate the following "
                    "execution plan.\n  # aws_eks_cluster.main will be created\n")
    (error,) = scan(plan).input_errors
    assert error.message.startswith("invalid JSON")
    assert "`terraform show -json tfplan > plan.json`" in error.message


def test_a_finding_in_a_module_is_located_at_the_module_block(tmp_path: Path) -> None:
    (tmp_path / "modules/eks").mkdir(parents=True)
    (tmp_path / "modules/eks/main.tf").write_text(PRIVATE_OFF.format(name="this"))
    (tmp_path / "main.tf").write_text('locals {\n  x = 1\n}\n\nmodule "platform" {\n'
                                      '  source = "./modules/eks"\n}\n')
    pc101 = [p for p in load_policies()[0] if p.id == "PC101"]
    (finding,) = scan(tmp_path, policies=pc101).findings
    assert finding.address == "module.platform.aws_eks_cluster.this"
    assert (finding.location.file, finding.location.line) == ("main.tf", 5)
    assert [(r.file, r.line) for r in finding.related] == [("modules/eks/main.tf", 7)]
    document = json.loads(renderer("json")(scan(tmp_path, policies=pc101),
                                           RenderOptions(repo_root=str(tmp_path))))
    assert document["findings"][0]["file"] == "main.tf"
    assert document["findings"][0]["related"] == [{"file": "modules/eks/main.tf", "line": 7}]
    sarif = json.loads(renderer("sarif")(scan(tmp_path, policies=pc101),
                                         RenderOptions(repo_root=str(tmp_path))))
    (result,) = sarif["runs"][0]["results"]
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "modules/eks/main.tf"


def test_api_takes_one_path_as_a_string_and_reads_the_config_file(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    (tmp_path / ".tfcheck.toml").write_text('skip-policy = ["PC101"]\n')
    report = tfcheck.scan(str(plan))
    assert [i.path for i in report.inputs] == [str(plan)]
    assert "PC101" not in {f.rule_id for f in report.findings}
    assert "PC101" in {f.rule_id for f in tfcheck.scan(plan, config=Config()).findings}


def test_a_third_party_policy_that_raises_is_named_as_such(tmp_path: Path) -> None:
    plan = write(tmp_path / "p.json", cluster_plan(None, False))
    foreign = msgspec.structs.replace(always_raises, pack="acme")
    (error,) = scan([plan], policies=[foreign]).internal_errors
    assert error.where == f"third-party policy pack 'acme': policy PC901 on {plan}"


def test_a_pack_that_fails_to_load_is_named_and_the_others_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import tfcheck.registry as registry

    class BrokenEntry:
        name, value = "acme", "acme_policies:ALL"

        def load(self) -> object:
            raise ImportError("No module named 'acme_policies'")

    class ForeignEntry:
        name, value = "extra", "extra_policies:ALL"

        def load(self) -> object:
            return [always_raises]

    real = registry.entry_points
    monkeypatch.setattr(registry, "entry_points", lambda group: [
        *real(group=group), BrokenEntry(), ForeignEntry()])
    policies, errors = registry.load_policies()
    assert [(e.where, e.message) for e in errors] == [
        ("third-party policy pack 'acme'",
         "cannot be loaded: ImportError(\"No module named 'acme_policies'\")")]
    assert {p.id: p.pack for p in policies}["PC901"] == "extra"
    assert {p.id: p.pack for p in policies}["PC101"] == "builtin"


def test_changed_only_reports_what_a_deletion_breaks(tmp_path: Path) -> None:
    """A pull request that deletes the ecr.dkr endpoint of an existing VPC, nothing else."""
    document = json.loads((FIXTURES / "plans/pc301-missing-ecr-dkr/plan.json")
                          .read_text(encoding="utf-8"))
    vpc_id = "vpc-0a1b2c3d4e5f60718"
    for resource in document["planned_values"]["root_module"]["resources"]:
        if resource["address"] == "aws_vpc.main":
            resource["values"]["id"] = vpc_id  # an existing VPC: its ID is known
    for change in document["resource_changes"]:
        change["change"]["actions"] = ["no-op"]
        if change["address"] == "aws_vpc.main":
            change["change"]["after"]["id"] = vpc_id
            change["change"].get("after_unknown", {}).pop("id", None)
    document["resource_changes"].append({
        "address": 'aws_vpc_endpoint.interface["ecr.dkr"]', "mode": "managed",
        "type": "aws_vpc_endpoint", "name": "interface", "index": "ecr.dkr",
        "change": {"actions": ["delete"], "after": None, "before": {
            "vpc_id": vpc_id, "vpc_endpoint_type": "Interface",
            "service_name": "com.amazonaws.eu-west-1.ecr.dkr"}}})
    plan = write(tmp_path / "plan.json", document)
    pc301 = [p for p in load_policies()[0] if p.id == "PC301"]
    report = scan(plan, policies=pc301, options=ScanOptions(changed_only=True))
    assert [(f.rule_id, f.data["service"]) for f in report.findings
            if f.status is Status.FAIL] == [("PC301", "ecr.dkr")]
    document["resource_changes"].pop()  # without the deletion: a pre-existing problem
    write(plan, document)
    assert scan(plan, policies=pc301, options=ScanOptions(changed_only=True)).findings == []


@policy(id="PC903", slug="declares", severity=Severity.LOW, title="declares")
def declares(ctx: ScanContext) -> Iterator[Result]:
    """Unknowns that declare what decides them, and findings that declare their identity."""
    for cluster in ctx.graph.managed("aws_eks_cluster"):
        yield Result.unknown(cluster, "the subnet is not known", decided_by=A_PLAN,
                             data={"subnet": "aws_subnet.a"}, identity=("subnet", "aws_subnet.a"))
        yield Result.unknown(cluster, "the region is not known", data={"subnet": "aws_subnet.b"},
                             identity=("subnet", "aws_subnet.b"))


def test_the_declared_hint_is_added_on_hcl_and_only_there(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(PRIVATE_OFF.format(name="main"))
    plain, hinted = scan(tmp_path, policies=[declares]).findings  # sorted by message
    assert hinted.message == f"the subnet is not known; {A_PLAN}"
    assert plain.message == "the region is not known"
    plan = write(tmp_path / "plan.json", cluster_plan(True, True, ["10.0.0.0/8"]))
    assert [f.message for f in scan(plan, policies=[declares]).findings] == [
        "the region is not known", "the subnet is not known"]


def test_fingerprints_hash_rule_address_and_declared_identity(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "main.tf").write_text(PRIVATE_OFF.format(name="main"))
    findings = scan(tmp_path, policies=[declares]).findings
    # the formula baselines and SARIF history were written with: it must not change
    assert [f.fingerprint for f in findings] == [hashlib.sha256(
        f"PC903\x1faws_eks_cluster.main\x1fsubnet={key}".encode()).hexdigest()[:32]
        for key in ("aws_subnet.b", "aws_subnet.a")]


def test_redaction_leaves_findings_it_would_not_change_and_changes_the_rest_alike() -> None:
    """The one-search check (`engine._hides_nothing`) agrees with the full pass.

    Random findings with sensitive texts at the edges of messages, evidence, data keys
    and values, instance keys and CIDRs, and marked values anywhere: the result equals
    the full pass's, text types included; a finding with nothing to hide is returned
    as it is.
    """
    import random

    from tfcheck.engine import _Redactor, _secret_pattern
    from tfcheck.marks import mark_scalar
    from tfcheck.model import Finding

    known = {"s3cr3t-value", "subnet-0abc"}
    redact = _Redactor(_secret_pattern(known), known, {"hunter22", "10", "ab"})
    words = ["s3cr3t-value", "hunter22", "10", "ab", "10.0.0.0/8", "x-10", "aws_subnet.p[10]",
             'p["ab"]', "subnet-0abc", "subnet-0ab", "abc", " ", "\x00", ".", "-", "word"]
    rng = random.Random(11)

    def text() -> str:
        return "".join(rng.choice(words) for _ in range(rng.randint(0, 3)))

    def leaf() -> object:
        return rng.choice([text, text, lambda: 10, lambda: True, lambda: None,
                           lambda: mark_scalar(text() or "x"), lambda: mark_scalar(10)])()

    def tree(depth: int) -> object:
        if depth == 0 or rng.random() < 0.4:
            return leaf()
        if rng.random() < 0.5:
            return {text(): tree(depth - 1) for _ in range(rng.randint(0, 3))}
        return [tree(depth - 1) for _ in range(rng.randint(0, 3))]

    def shape(value: object) -> object:  # texts with their type: a marked one must not pass
        if isinstance(value, str):
            return type(value).__name__, str.__str__(value)
        if isinstance(value, dict):
            return sorted((shape(k), shape(v)) for k, v in value.items())
        if isinstance(value, list | tuple):
            return [shape(item) for item in value]
        return type(value).__name__, value

    left = 0
    for _ in range(600):
        finding = Finding(
            rule_id="PC101", slug="s", severity=Severity.LOW, status=Status.FAIL,
            address="aws_eks_cluster.c", message=text(), remediation=text(),
            evidence=tuple(text() for _ in range(rng.randint(0, 3))),
            data={"d": tree(3)} if rng.random() < 0.7 else {},
            identity=text() if rng.random() < 0.3 else "")
        result = redact(finding)
        full = redact.everywhere(finding, redact.patterns())
        assert shape(msgspec.structs.astuple(result)) == shape(msgspec.structs.astuple(full))
        left += result is finding
    assert left > 30

    clean = Finding(rule_id="PC101", slug="s", severity=Severity.LOW, status=Status.PASS,
                    address="aws_eks_cluster.c", message="private endpoint on",
                    evidence=("aws_subnet.p[10]",), data={"cidrs": ["10.0.0.0/8"]})
    assert redact(clean) is clean


def test_each_scanned_graph_is_handed_to_the_caller(tmp_path: Path) -> None:
    """`ScanOptions.scanned`: the command line keeps the last graph to its process's end."""
    first = write(tmp_path / "a.json", cluster_plan(True, False))
    second = write(tmp_path / "b.json", cluster_plan(None, None))
    graphs: list[object] = []
    scan([first, second], options=ScanOptions(scanned=graphs.append),
         policies=[p for p in load_policies()[0] if p.id == "PC101"])
    assert [getattr(g, "source", None) for g in graphs] == [str(first), str(second)]
