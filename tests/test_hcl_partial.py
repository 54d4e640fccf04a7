"""Unknown leaves stay leaves (issue 8): encoded documents keep every known value.

The shape is the one most charts are installed with: `helm_release` with
`values = [yamlencode({...})]` where one leaf (an IRSA role ARN) is known only after
apply. The document must still show the image and the flags, with the unknown leaf as
a `${...}` placeholder a reader recognises.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from tfcheck.loaders.hcl import load_hcl
from tfcheck.model import Unknown

HELM = """
resource "aws_iam_role" "lb" {
  name               = "aws-load-balancer-controller"
  assume_role_policy = "{}"
}

resource "helm_release" "lb" {
  name       = "aws-load-balancer-controller"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"

  values = [yamlencode({
    clusterName = "private"
    image = {
      repository = "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon/${local.chart}"
    }
    serviceAccount = {
      annotations = {
        "eks.amazonaws.com/role-arn" = aws_iam_role.lb.arn
      }
    }
    extraArgs = ["--aws-vpc-id=${var.vpc_id}", "--enable-waf=false"]
  })]

  set = [{
    name  = "policy"
    value = jsonencode({ Role = aws_iam_role.lb.arn, Enabled = true })
  }]
}

locals {
  chart = "aws-load-balancer-controller"
}

variable "vpc_id" {
  type = string
}
"""


def test_yamlencode_keeps_known_leaves_and_marks_unknown_ones(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(HELM)
    graph = load_hcl(tmp_path).graph
    release = graph.get("helm_release.lb")
    assert release is not None
    [document] = release.values["values"]
    assert isinstance(document, Unknown) and document.partial is not None
    assert "aws_iam_role.lb" in document.references
    values = yaml.safe_load(document.partial)
    assert values["image"]["repository"].endswith("/amazon/aws-load-balancer-controller")
    assert values["clusterName"] == "private"
    role = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role == "${aws_iam_role.lb.arn}"
    assert values["extraArgs"] == ["--aws-vpc-id=${var.vpc_id}", "--enable-waf=false"]


def test_jsonencode_keeps_known_leaves_and_marks_unknown_ones(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(HELM)
    release = load_hcl(tmp_path).graph.get("helm_release.lb")
    assert release is not None
    encoded = release.values["set"][0]["value"]
    assert isinstance(encoded, Unknown) and encoded.partial is not None
    assert json.loads(encoded.partial) == {"Enabled": True, "Role": "${aws_iam_role.lb.arn}"}


def test_known_document_is_a_plain_string(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "helm_release" "x" {\n  name = "x"\n  chart = "x"\n'
        '  values = [yamlencode({ image = { tag = "v1" } })]\n}\n'
    )
    release = load_hcl(tmp_path).graph.get("helm_release.x")
    assert release is not None
    assert release.values["values"] == ["image:\n  tag: v1\n"]


def test_unknown_reasons_name_the_missing_value(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "cidr_block" {\n  type = string\n}\n'
        'data "aws_availability_zones" "available" {}\n'
        'resource "aws_vpc" "main" {\n  cidr_block = var.cidr_block\n}\n'
        'resource "aws_subnet" "a" {\n  vpc_id = aws_vpc.main.id\n'
        '  cidr_block = "10.0.1.0/24"\n'
        "  availability_zone = data.aws_availability_zones.available.names[0]\n}\n"
    )
    graph = load_hcl(tmp_path).graph
    vpc, subnet = graph.get("aws_vpc.main"), graph.get("aws_subnet.a")
    assert vpc is not None and subnet is not None
    cidr = vpc.values["cidr_block"]
    assert isinstance(cidr, Unknown) and cidr.reason.startswith("var.cidr_block has no value")
    zone = subnet.values["availability_zone"]
    assert isinstance(zone, Unknown)
    assert zone.reason.startswith("data.aws_availability_zones.available is read from AWS")


def test_join_keeps_unknown_lines_as_placeholders(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_eks_cluster" "main" {\n  name = "private"\n'
        '  role_arn = "arn:aws:iam::123456789012:role/eks"\n'
        '  vpc_config {\n    subnet_ids = ["subnet-1"]\n  }\n}\n'
        'resource "aws_launch_template" "nodes" {\n'
        '  user_data = base64encode(join("\\n", [\n'
        '    "#!/bin/bash",\n'
        '    "/etc/eks/bootstrap.sh ${aws_eks_cluster.main.name} --apiserver-endpoint '
        '${aws_eks_cluster.main.endpoint}",\n'
        "  ]))\n}\n"
    )
    template = load_hcl(tmp_path).graph.get("aws_launch_template.nodes")
    assert template is not None
    user_data = template.values["user_data"]
    assert isinstance(user_data, Unknown) and user_data.partial is not None
    text = base64.b64decode(user_data.partial).decode()
    assert text == (
        "#!/bin/bash\n/etc/eks/bootstrap.sh private --apiserver-endpoint "
        "${aws_eks_cluster.main.endpoint}"
    )
