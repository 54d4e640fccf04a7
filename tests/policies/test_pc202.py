"""PC202 node-public-ip."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.node_public_ip import node_public_ip

from ..network_builders import SUBNETS, context, private_cluster, run, unknown, verdicts


class TestPC202:
    def test_pass_on_private_subnets(self) -> None:
        results = run(node_public_ip, private_cluster())
        assert verdicts(results) == [("pass", s) for s in SUBNETS]

    def test_fail_on_a_subnet_mapping_public_ips(self) -> None:
        p = private_cluster()
        p.resources[SUBNETS[1]].values["map_public_ip_on_launch"] = True
        results = run(node_public_ip, p)
        assert verdicts(results) == [("fail", SUBNETS[1]), ("pass", SUBNETS[0]),
                                     ("pass", SUBNETS[2])]
        (fail,) = [r for r in results if r.status is Status.FAIL]
        assert fail.attribute == "map_public_ip_on_launch"
        assert fail.remediation == "# in aws_subnet.private[1]\nmap_public_ip_on_launch = false"
        assert fail.evidence == ("aws_eks_node_group.default", SUBNETS[1])

    def test_fail_on_a_launch_template_giving_public_ips(self) -> None:
        p = private_cluster()
        p.add("aws_launch_template.nodes", {
            "vpc_security_group_ids": [], "network_interfaces": [
                {"associate_public_ip_address": "true",
                 "security_groups": [unknown("aws_security_group.node")]}]},
            refs={"network_interfaces.security_groups": "aws_security_group.node"})
        results = run(node_public_ip, p)
        assert ("fail", "aws_launch_template.nodes") in verdicts(results)
        (fail,) = [r for r in results if r.status is Status.FAIL]
        assert fail.attribute == "network_interfaces.associate_public_ip_address"
        assert "associate_public_ip_address = false" in fail.remediation

    def test_launch_template_setting_false_wins_over_the_subnet(self) -> None:
        p = private_cluster()
        for subnet in SUBNETS:
            p.resources[subnet].values["map_public_ip_on_launch"] = True
        p.add("aws_launch_template.nodes", {"network_interfaces": [
            {"associate_public_ip_address": "false", "security_groups": ["sg-0n"]}]})
        results = run(node_public_ip, p)
        assert verdicts(results) == [("pass", s) for s in SUBNETS]

    def test_fargate_only_subnets_are_not_checked(self) -> None:
        p = private_cluster()
        p.remove("aws_eks_node_group.default")
        p.resources[SUBNETS[0]].values["map_public_ip_on_launch"] = True
        p.add("aws_eks_fargate_profile.apps", {"cluster_name": "main",
                                               "subnet_ids": unknown()},
              refs={"subnet_ids": SUBNETS[0]})
        assert run(node_public_ip, p) == []

    def test_unknown_flag_and_pre_existing_subnets(self) -> None:
        p = private_cluster()
        p.resources[SUBNETS[0]].values["map_public_ip_on_launch"] = Unknown("var.public")
        p.add("aws_eks_node_group.legacy", {"cluster_name": "main",
                                            "subnet_ids": ["subnet-0old"]})
        results = run(node_public_ip, p)
        assert ("unknown", SUBNETS[0]) in verdicts(results)
        (old,) = [r for r in results if r.data.get("subnet") == "subnet-0old"]
        assert (old.status, old.subject.address) == (Status.UNKNOWN, "aws_eks_cluster.main")


def test_node_placement_is_computed_once_per_cluster_not_once_per_subnet(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A cluster on 100,000 subnets made PC202 quadratic (hostile plan: 100k subnet ids).

    The placement (subnet -> node sources) is computed when the network is built, on the
    record: PC202 and the other policies read it, none rebuilds it.
    """
    from tfcheck.facts import records
    from tfcheck_policies import ALL_POLICIES

    calls: list[int] = []
    original = records._placement

    def counted(nodes: tuple[records.NodeSource, ...]) -> object:
        calls.append(len(nodes))
        return original(nodes)

    monkeypatch.setattr(records, "_placement", counted)
    ctx = context(private_cluster().build())
    for policy in ALL_POLICIES:
        list(policy.check(ctx))
    assert len(SUBNETS) > 1 and calls == [1]  # one cluster, one node group: once
