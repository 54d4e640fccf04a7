"""Public configurations as users run them: a scan reports exactly what their README says.

../shared/realworld/configs holds three EKS configurations with their registry modules
laid out as `terraform init` leaves them (`.terraform/modules`). Its README states what
a correct scan reports; these tests hold tfcheck to it, finding by finding: every `fail`
and `unknown` is listed here, nothing else may appear. They are test data read in
place, never copied into the repository.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tfcheck.engine import scan
from tfcheck.model import Report, Severity, Status

from .conftest import SHARED

CONFIGS = SHARED / "realworld" / "configs"

pytestmark = [
    pytest.mark.slow,  # each scan evaluates three registry modules: ~5 s
    pytest.mark.skipif(not CONFIGS.is_dir(),
                       reason=f"{CONFIGS} is absent (shared/ not beside the checkout)"),
]

# What terraform-aws-modules/eks clusters without endpoints need, by feature: the nodes
# (ec2, ecr.api, ecr.dkr, s3), IRSA (sts: the OIDC provider), Pod Identity (eks-auth).
NODE_SERVICES = ("ec2", "ecr.api", "ecr.dkr", "s3")


def _findings(report: Report) -> list[tuple[str, str, str, str]]:
    """(rule, status, address, service) of every fail and unknown, sorted."""
    return sorted((f.rule_id, f.status.value, f.address, str(f.data.get("service", "")))
                  for f in report.findings if f.status is not Status.PASS)


def _scan(name: str) -> Iterator[Report]:
    report = scan([CONFIGS / name])
    assert report.input_errors == []
    assert report.internal_errors == [], [e.message for e in report.internal_errors]
    yield report


@pytest.fixture(scope="module")
def blueprints() -> Iterator[Report]:
    yield from _scan("eks-blueprints-fully-private-cluster")


@pytest.fixture(scope="module")
def managed_node_groups() -> Iterator[Report]:
    yield from _scan("terraform-aws-eks-eks-managed-node-group")


@pytest.fixture(scope="module")
def tutorial() -> Iterator[Report]:
    yield from _scan("learn-terraform-provision-eks-cluster")


def test_the_fully_private_pattern_has_no_fail_and_no_unknown(blueprints: Report) -> None:
    assert _findings(blueprints) == []
    passed = {(f.rule_id, f.address) for f in blueprints.findings}
    # it was judged, not skipped: the endpoints admit the nodes through the VPC CIDR
    assert ("PC401", 'module.vpc_endpoints.aws_vpc_endpoint.this["ecr_api"]') in passed
    assert ("PC301", "module.eks.aws_eks_cluster.this[0]") in passed
    assert not any(f.rule_id == "PC501" for f in blueprints.findings)  # EKS-chosen AMI


def test_managed_node_groups_in_a_vpc_with_a_nat_gateway(managed_node_groups: Report) -> None:
    expected = [("PC201", "fail", "module.vpc.aws_subnet.private", "")]
    for cluster in ("module.eks_al2023.aws_eks_cluster.this[0]",
                    "module.eks_bottlerocket.aws_eks_cluster.this[0]"):
        expected += [("PC301", "fail", cluster, service)
                     for service in (*NODE_SERVICES, "sts", "eks-auth")]
    assert _findings(managed_node_groups) == sorted(expected)
    # AL2023 and Bottlerocket node groups on the EKS-chosen AMI: no PC501 at all
    assert not any(f.rule_id == "PC501" for f in managed_node_groups.findings)


def test_the_public_endpoint_tutorial(tutorial: Report) -> None:
    cluster = "module.eks.aws_eks_cluster.this[0]"
    expected = [("PC102", "fail", cluster, "")]
    expected += [("PC201", "fail", f"module.vpc.aws_subnet.private[{i}]", "")
                 for i in range(3)]
    expected += [("PC301", "fail", cluster, service) for service in (*NODE_SERVICES, "sts")]
    assert _findings(tutorial) == sorted(expected)
    (public,) = [f for f in tutorial.findings if f.rule_id == "PC102"]
    assert public.severity is Severity.HIGH  # open to 0.0.0.0/0
    assert not any(f.rule_id == "PC501" for f in tutorial.findings)
