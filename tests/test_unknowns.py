"""Unknown messages: the missing value, named exactly, and the one action that decides it."""

from __future__ import annotations

import pytest

from tfcheck.model import Resource, Unknown
from tfcheck.unknowns import explain, missing_value, read_from_aws


@pytest.mark.parametrize(("reason", "kind", "expected"), [
    # the HCL evaluator's words, and the catalog's
    ("variable cidr_block has no value: pass -var-file or --var", "hcl",
     "var.cidr_block has no value: pass it with --var cidr_block=VALUE or --var-file"),
    ("var.cidr_block has no value", "hcl",
     "var.cidr_block has no value: pass it with --var cidr_block=VALUE or --var-file"),
    ("data.aws_availability_zones.available is read at plan time: names is not known "
     "without a plan", "hcl",
     "data.aws_availability_zones.available is read from AWS: scan a plan of this "
     "configuration (terraform show -json), which holds what AWS returns"),
    ('module.vpc.data.aws_vpc.this["a"] is read from AWS (cidr_block)', "hcl",
     'module.vpc.data.aws_vpc.this["a"] is read from AWS: scan a plan of this '
     "configuration (terraform show -json), which holds what AWS returns"),
    # a data source a plan reads only during apply: a plan does not hold it either
    ("data.aws_eks_cluster.this.vpc_config is known only after apply", "plan",
     "data.aws_eks_cluster.this.vpc_config is known only after apply: no scan before "
     "apply can decide it"),
    ("aws_iam_role.x.arn is known only after apply", "hcl",
     "aws_iam_role.x.arn is known only after apply: no scan before apply can decide it"),
    ("module input subnet_ids of module.eks is not set", "hcl",
     "module input subnet_ids of module.eks is not set: the module call must set it"),
    ("module.eks is not on disk", "hcl",
     "module.eks is not on disk: run terraform init, then scan again"),
])
def test_explain(reason: str, kind: str, expected: str) -> None:
    message = explain(Unknown(reason), kind)
    assert message == expected


def test_a_reason_of_another_shape_is_kept() -> None:
    value = Unknown("count of aws_subnet.private is too large")
    assert missing_value(value) == "count of aws_subnet.private is too large"
    assert explain(value, "plan").endswith("no scan before apply can decide it")


def test_a_data_source_attribute_is_read_from_aws() -> None:
    vpc = Resource("data.aws_vpc.shared", "aws_vpc", "shared", mode="data")
    value = read_from_aws(vpc, "enable_dns_hostnames")
    assert value.references == ("data.aws_vpc.shared",)
    assert missing_value(value) == "data.aws_vpc.shared is read from AWS"


def test_an_unknown_is_its_reason_and_references_not_its_partial_text() -> None:
    plain = Unknown("aws_vpc.main.id is known only after apply", ("aws_vpc.main",))
    partial = Unknown("aws_vpc.main.id is known only after apply", ("aws_vpc.main",),
                      partial="--cluster ${cluster}")
    assert plain == partial and (plain != partial) is False and hash(plain) == hash(partial)
    assert plain != Unknown("aws_vpc.main.id is known only after apply")
    assert Unknown("x") != Unknown("y") and (Unknown("x") == Unknown("y")) is False
    assert Unknown("x") != "x"
    with pytest.raises(AttributeError):
        plain.reason = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        bool(plain)
