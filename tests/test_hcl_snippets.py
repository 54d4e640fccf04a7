"""The remediation renderer: HCL as `terraform fmt` writes it, checked by terraform itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO
from tfcheck.facts.hcl_snippets import (
    BLANK,
    Attribute,
    Call,
    Comment,
    Heredoc,
    ListOf,
    Literal,
    ObjectOf,
    Reference,
    Template,
    attributes,
    block,
    expression,
    render,
    resource,
    separated,
    uncommented,
)


def test_equals_signs_align_within_a_run_and_comments_after_them() -> None:
    snippet = render(resource("aws_vpc_endpoint_route_table_association", "s3", attributes(
        vpc_endpoint_id=Reference("aws_vpc_endpoint.s3.id"),
        route_table_id=Reference("module.vpc.main_route_table_id", "module.vpc.aws_vpc.this"),
        tags=ObjectOf((("Name", Literal("s3")),)),
        ip_protocol="tcp", from_port=443)))
    assert snippet == (
        'resource "aws_vpc_endpoint_route_table_association" "s3" {\n'
        "  vpc_endpoint_id = aws_vpc_endpoint.s3.id\n"
        "  route_table_id  = module.vpc.main_route_table_id # module.vpc.aws_vpc.this\n"
        "  tags = {\n"
        '    Name = "s3"\n'
        "  }\n"
        '  ip_protocol = "tcp"\n'
        "  from_port   = 443\n"
        "}")


def test_comments_are_data_a_list_has_no_room_for() -> None:
    reference = Reference("module.vpc.vpc_id", "module.vpc.aws_vpc.this")
    assert render(Attribute("cidr_blocks", ListOf((reference, Literal("10.0.0.0/16"))))) == (
        'cidr_blocks = [module.vpc.vpc_id, "10.0.0.0/16"]')
    assert render(Attribute("vpc_id", uncommented(reference))) == "vpc_id = module.vpc.vpc_id"
    assert render(Attribute("vpc_id", Literal("vpc-1"), comment="the VPC")) == (
        'vpc_id = "vpc-1" # the VPC')


def test_strings_are_escaped_as_hcl_reads_them() -> None:
    key = "serviceAccount.annotations.eks\\.amazonaws\\.com/sts-regional-endpoints"
    assert expression(Literal(key)) == (
        '"serviceAccount.annotations.eks\\\\.amazonaws\\\\.com/sts-regional-endpoints"')
    assert expression(Literal('say "${x}" and %{if}')) == '"say \\"$${x}\\" and %%{if}"'
    assert expression(Template(("com.amazonaws.", Reference("data.aws_region.current.name"),
                                ".s3"))) == '"com.amazonaws.${data.aws_region.current.name}.s3"'
    assert [expression(Literal(v)) for v in (True, False, None, 443)] == [
        "true", "false", "null", "443"]


def test_blocks_comments_and_blank_lines() -> None:
    snippet = render(*separated([
        block("access_config", body=attributes(authentication_mode="API")),
        Comment("then, per role:\n  one entry each"),
    ]))
    assert snippet == ('access_config {\n  authentication_mode = "API"\n}\n\n'
                       "# then, per role:\n#   one entry each")
    assert render(block("set"), BLANK, block("set")) == "set {\n}\n\nset {\n}"


def test_a_call_over_several_lines_and_a_heredoc() -> None:
    values = Call("yamlencode", (ObjectOf((("enableShield", Literal(False)),
                                           ("enableWaf", Literal(False)))),))
    assert render(Attribute("values", ListOf((values,)))) == (
        "values = [yamlencode({\n  enableShield = false\n  enableWaf    = false\n})]")
    user_data = Call("base64encode", (Heredoc((
        "#!/bin/bash\n\n/etc/eks/bootstrap.sh ", Reference("aws_eks_cluster.main.name"),
        " ${NOT_TERRAFORM}")),))
    assert render(Attribute("user_data", user_data)) == (
        "user_data = base64encode(<<-EOT\n  #!/bin/bash\n\n"
        "  /etc/eks/bootstrap.sh ${aws_eks_cluster.main.name} $${NOT_TERRAFORM}\nEOT\n)")


def test_only_the_last_item_may_span_lines() -> None:
    spread = ObjectOf((("a", Literal(1)),))
    with pytest.raises(ValueError, match="last item"):
        render(Attribute("x", ListOf((spread, Literal(2)))))
    with pytest.raises(ValueError, match="one line"):
        expression(spread)


# -- every remediation the policies write is HCL that terraform fmt leaves alone ----------

# Remediations that are advice in words, not HCL (PC604: remove the product).
PROSE_ONLY = {"PC604"}


def _hcl_part(remediation: str) -> str:
    """The HCL of a remediation: some open with one sentence of advice ending in a colon."""
    first, _, rest = remediation.partition("\n")
    if first[:1].isupper() and first.endswith(":"):
        return rest
    return remediation


@pytest.mark.slow
def test_every_remediation_is_hcl_that_terraform_fmt_accepts(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed")
    from tfcheck.engine import ScanOptions, scan
    from tfcheck_policies import ALL_POLICIES

    inputs = sorted([*FIXTURES.glob("hcl-policies/*/"), *FIXTURES.glob("workloads/*/"),
                     *FIXTURES.glob("plans/*/plan.json"), *(REPO / "examples").glob("*/")])
    report = scan([str(p) for p in inputs], options=ScanOptions(pictures="none"))
    snippets: dict[str, set[str]] = {}
    for finding in report.findings:
        if finding.remediation:
            snippets.setdefault(finding.rule_id, set()).add(finding.remediation)
    assert {policy.id for policy in ALL_POLICIES} <= set(snippets)  # a snippet of each
    written = 0
    for rule, texts in snippets.items():
        if rule in PROSE_ONLY:
            continue
        for number, text in enumerate(sorted(texts)):
            (tmp_path / f"{rule}_{number}.tf").write_text(_hcl_part(text) + "\n")
            written += 1
    checked = subprocess.run([terraform, "fmt", "-check", "-list=true", "-diff", str(tmp_path)],
                             capture_output=True, text=True, check=False, timeout=120,
                             env={"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": "/dev/null"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert written >= len(snippets) - len(PROSE_ONLY)
