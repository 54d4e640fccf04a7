"""Membership (tfcheck.facts.membership): one answer to "which cluster owns this?".

Each case is one where the network builder, PC501 and the workload readers used to
answer differently; the network facts and PC501 must now agree with membership.
"""

from __future__ import annotations

import base64
from typing import Any

from tfcheck.facts.builder import network
from tfcheck.facts.membership import (
    clusters_of_node_source,
    clusters_of_workload,
    node_membership,
)
from tfcheck.facts.requirements import endpoint_needs, required_services
from tfcheck.facts.vocabulary import SELF_MANAGED
from tfcheck.model import Resource, Status, Unknown
from tfcheck.policy import ScanContext
from tfcheck_policies.self_managed_bootstrap import self_managed_bootstrap

from .workload_builders import cluster, ctx_of, resource

ENDPOINT = "https://ABCD1234.gr7.eu-west-1.eks.amazonaws.com"
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="
ASG = "aws_autoscaling_group.nodes"
LT = "aws_launch_template.nodes"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def bootstrap(name: str) -> str:
    return (f"#!/bin/bash\n/etc/eks/bootstrap.sh {name} --apiserver-endpoint {ENDPOINT} "
            f"--b64-cluster-ca {CA}\n")


def template(user_data: Any, **values: Any) -> Resource:
    body = {"name_prefix": "nodes-", "image_id": "ami-0123456789abcdef0",
            "user_data": user_data, **values}
    return resource(LT, body, configured=set(body))


def asg(tags: dict[str, str] | None = None, **values: Any) -> Resource:
    return resource(ASG, {
        "launch_template": [{"id": Unknown("after apply"), "version": "$Latest"}],
        "vpc_zone_identifier": [],
        "tag": [{"key": k, "value": v, "propagate_at_launch": True}
                for k, v in (tags or {}).items()],
        **values,
    })


USES_TEMPLATE = (ASG, "launch_template.id", LT)


def self_managed_of(ctx: ScanContext, address: str) -> list[str]:
    info = network(ctx).cluster(address)
    assert info is not None
    return [s.address for s in info.nodes if s.kind == SELF_MANAGED]


def pc501(ctx: ScanContext) -> list[Any]:
    return list(self_managed_bootstrap.check(ctx))


def test_the_bootstrap_decides_over_a_tag_for_another_cluster() -> None:
    # network used to make the group a node of both clusters; PC501 of b only
    ctx = ctx_of(cluster("a"), cluster("b"), template(b64(bootstrap("b"))),
                 asg({"kubernetes.io/cluster/a": "owned"}), edges=[USES_TEMPLATE])
    assert clusters_of_node_source(ctx, ctx.graph.get(ASG)) == ("aws_eks_cluster.b",)
    assert self_managed_of(ctx, "aws_eks_cluster.a") == []
    assert self_managed_of(ctx, "aws_eks_cluster.b") == [ASG]
    (result,) = pc501(ctx)
    assert result.status is Status.PASS
    assert result.data["clusters"] == ["aws_eks_cluster.b"]


def test_a_reference_outside_user_data_and_tags_is_not_membership() -> None:
    # a bastion group named after the cluster: PC501 used to check it and fail
    ctx = ctx_of(cluster("main"), template(b64("#!/bin/bash\nyum install -y tmux\n")),
                 asg(name="main-bastion"),
                 edges=[USES_TEMPLATE, (ASG, "name", "aws_eks_cluster.main")])
    assert clusters_of_node_source(ctx, ctx.graph.get(ASG)) == ()
    assert self_managed_of(ctx, "aws_eks_cluster.main") == []
    assert pc501(ctx) == []


def test_the_cluster_name_without_an_eks_bootstrap_is_not_a_node() -> None:
    # a bastion writing a kubeconfig: the network used to count it as a node of main
    user_data = "#!/bin/bash\naws eks update-kubeconfig --name main --region eu-west-1\n"
    ctx = ctx_of(cluster("main"), template(b64(user_data)), asg(), edges=[USES_TEMPLATE])
    assert clusters_of_node_source(ctx, ctx.graph.get(ASG)) == ()
    assert self_managed_of(ctx, "aws_eks_cluster.main") == []
    assert pc501(ctx) == []


def test_user_data_rendered_by_cloudinit_from_the_cluster_joins_it() -> None:
    # a plan: the rendered user data is known only after apply, and names the cluster
    # through the cloudinit_config data source; the network used to miss the nodes
    user_data = Unknown("data.cloudinit_config.nodes.rendered is known only after apply",
                        references=("data.cloudinit_config.nodes.rendered",))
    cloudinit = resource("data.cloudinit_config.nodes", {"rendered": Unknown("after apply")})
    ctx = ctx_of(cluster("main"), cloudinit, template(user_data), asg(), edges=[
        USES_TEMPLATE, (LT, "user_data", "data.cloudinit_config.nodes"),
        ("data.cloudinit_config.nodes", "part.content", "aws_eks_cluster.main")])
    members = node_membership(ctx)
    owners = members.owners(ctx.graph.get(ASG))
    assert owners.clusters == ("aws_eks_cluster.main",)
    assert owners.reason("aws_eks_cluster.main") == f"the user data of {LT} names the cluster"
    assert self_managed_of(ctx, "aws_eks_cluster.main") == [ASG]
    (result,) = pc501(ctx)
    assert result.status is Status.UNKNOWN
    assert result.data["clusters"] == ["aws_eks_cluster.main"]


def test_an_ec2_access_entry_by_literal_role_arn_joins_the_group() -> None:
    # PC501 followed graph edges only and did not check this template
    ctx = ctx_of(
        cluster("main"),
        template(b64("#!/bin/bash\necho starting\n"),
                 iam_instance_profile=[{"name": "nodes"}]),
        asg(),
        resource("aws_iam_instance_profile.nodes", {"name": "nodes", "role": "nodes"}),
        resource("aws_iam_role.nodes", {"name": "nodes"}),
        resource("aws_eks_access_entry.nodes", {
            "cluster_name": "main", "type": "EC2_LINUX",
            "principal_arn": "arn:aws:iam::111122223333:role/nodes"}),
        edges=[USES_TEMPLATE],
    )
    owners = node_membership(ctx).owners(ctx.graph.get(ASG))
    assert owners.clusters == ("aws_eks_cluster.main",)
    assert owners.reason("aws_eks_cluster.main") == (
        "its instance role has an EC2 access entry on the cluster")
    assert self_managed_of(ctx, "aws_eks_cluster.main") == [ASG]
    (result,) = pc501(ctx)
    assert result.status is Status.FAIL
    assert "runs no EKS bootstrap" in result.message


def test_an_addon_of_a_cluster_outside_the_input_asks_nothing_of_this_one() -> None:
    # PC301's add-on reader used to give such an add-on to every cluster of the input
    addon = resource("aws_eks_addon.pia", {"addon_name": "eks-pod-identity-agent",
                                           "cluster_name": "elsewhere"})
    ctx = ctx_of(cluster("main"), addon)
    assert clusters_of_workload(ctx, addon) == ()
    (need,) = [n for n in endpoint_needs(ctx) if n.resource.address == addon.address]
    assert need.clusters == ()
    (info,) = network(ctx).clusters
    assert "eks-auth" not in [r.service for r in required_services(ctx, info)]


def test_a_launch_template_belongs_to_its_users_cluster_when_user_data_says_not() -> None:
    group = resource("aws_eks_node_group.custom", {"cluster_name": "b"})
    ctx = ctx_of(cluster("a"), cluster("b"), template(b64("#!/bin/bash\necho hi\n")), group,
                 edges=[("aws_eks_node_group.custom", "launch_template.id", LT)])
    lt = ctx.graph.get(LT)
    assert lt is not None
    assert clusters_of_node_source(ctx, lt) == ("aws_eks_cluster.b",)
    assert node_membership(ctx).users_of(lt) == [group]


def test_a_node_group_whose_cluster_cannot_be_told_may_be_any_clusters() -> None:
    group = resource("aws_eks_node_group.x", {"cluster_name": Unknown("var.cluster")})
    ctx = ctx_of(cluster("a"), cluster("b"), group)
    assert clusters_of_node_source(ctx, group) is None
    for address in ("aws_eks_cluster.a", "aws_eks_cluster.b"):
        info = network(ctx).cluster(address)
        assert info is not None
        assert [s.address for s in info.nodes] == ["aws_eks_node_group.x"]


def test_a_data_source_for_a_cluster_outside_the_input_stands_for_it() -> None:
    data = resource("data.aws_eks_cluster.shared", {"name": "shared"})
    ctx = ctx_of(cluster("main"), data, template(b64(bootstrap("shared"))), asg(),
                 edges=[USES_TEMPLATE])
    owners = node_membership(ctx).owners(ctx.graph.get(ASG))
    assert owners.clusters == ()
    assert owners.outside == ("data.aws_eks_cluster.shared",)
    assert self_managed_of(ctx, "aws_eks_cluster.main") == []
    (result,) = pc501(ctx)
    assert result.data["clusters"] == ["data.aws_eks_cluster.shared"]
