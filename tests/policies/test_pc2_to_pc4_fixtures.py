"""PC2xx-PC5xx on real configurations: fixtures/hcl-policies/<case>/ as HCL and as plans.

Each case holds HCL (with local modules where the case is about modules), the plan a
real terraform made from it (plan.json, by `scripts/generate_fixtures.py --plans-dir
fixtures/hcl-policies`) and expect.txt in the format of fixtures/plans: one
`[plan:|hcl:] RULE status address [key=value]` line per expected finding. Every `fail` and `unknown`
finding of PC201-PC501 must be listed, nothing else may appear; `pass` lines must be
present. HCL and plan must agree. A case that cannot be planned offline (data sources
that call the AWS API) says why in NO_PLAN and is checked as HCL only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tfcheck.engine import scan
from tfcheck_policies import ALL_POLICIES

from ..conftest import FIXTURES
from ..expectations import check, read_expectations

CASES = sorted(p.parent for p in (FIXTURES / "hcl-policies").glob("pc[2345]*/expect.txt"))
MINE = [p for p in ALL_POLICIES if p.id[:3] in ("PC2", "PC3", "PC4", "PC5")]
MY_IDS = {p.id for p in MINE}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_plan(case: Path) -> None:
    if (case / "NO_PLAN").is_file():
        pytest.skip((case / "NO_PLAN").read_text().strip())
    report = scan([case / "plan.json"], policies=MINE)
    check(report, read_expectations(case, "plan"), MY_IDS)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hcl(case: Path) -> None:
    check(scan([case], policies=MINE), read_expectations(case, "hcl"), MY_IDS)


def test_every_case_has_a_plan_or_says_why_not() -> None:
    assert CASES
    for case in CASES:
        assert (case / "plan.json").is_file() or (case / "NO_PLAN").is_file(), case.name


# -- one thing wrong: the known-good cluster with a single mistake fails one policy ------

GOOD = FIXTURES / "plans" / "good-private-cluster"

ONE_THING_WRONG: dict[str, tuple[list[tuple[str, str]], set[tuple[str, str]]]] = {
    "nat-route": ([('resource "aws_route_table_association" "private" {', '''\
resource "aws_nat_gateway" "egress" {
  subnet_id = aws_subnet.private[0].id
}

resource "aws_route" "nat" {
  count                  = length(local.azs)
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.egress.id
}

resource "aws_route_table_association" "private" {''')],
        {("PC201", f"aws_subnet.private[{i}]") for i in range(3)}),
    "public-ip": ([("  availability_zone = local.azs[count.index]\n",
                    "  availability_zone = local.azs[count.index]\n"
                    "  map_public_ip_on_launch = true\n")],
                  {("PC202", f"aws_subnet.private[{i}]") for i in range(3)}),
    "dns-hostnames": ([("  enable_dns_hostnames = true\n", "")], {("PC203", "aws_vpc.main")}),
    "no-ecr-dkr": ([('    "ecr.dkr",\n', "")], {("PC301", "aws_eks_cluster.main")}),
    "s3-other-region": ([('  service_name      = "com.amazonaws.${var.region}.s3"',
                          '  service_name      = "com.amazonaws.us-east-1.s3"')],
                        {("PC301", "aws_eks_cluster.main"), ("PC302", "aws_vpc_endpoint.s3")}),
    "logs-no-private-dns": ([("  private_dns_enabled = true\n",
                              '  private_dns_enabled = each.value != "logs"\n')],
                            {("PC303", 'aws_vpc_endpoint.interface["logs"]')}),
    "s3-two-route-tables": ([("  route_table_ids   = aws_route_table.private[*].id",
                              "  route_table_ids   = slice(aws_route_table.private[*].id, 0, 2)")],
                            {("PC305", "aws_subnet.private[2]")}),
    "no-s3-egress": ([("    prefix_list_ids = [aws_vpc_endpoint.s3.prefix_list_id]\n",
                       '    cidr_blocks = ["10.99.0.0/16"]\n')],
                     {("PC402", "aws_security_group.node")}),
}


@pytest.mark.skipif(not (GOOD / "main.tf").is_file(), reason="good-private-cluster is absent")
@pytest.mark.parametrize("name", sorted(ONE_THING_WRONG))
def test_one_thing_wrong_fails_exactly_its_policy(name: str, tmp_path: Path) -> None:
    import shutil

    from tfcheck.engine import scan

    edits, expected = ONE_THING_WRONG[name]
    shutil.copytree(GOOD, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.json"))
    text = (GOOD / "main.tf").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    (tmp_path / "main.tf").write_text(text)
    report = scan([str(tmp_path)], policies=MINE)
    failed = {(f.rule_id, f.address) for f in report.findings if f.status.value == "fail"}
    assert failed == expected
    assert [f.message for f in report.findings if f.status.value == "unknown"] == []
