"""PC701 aws-auth-in-vpc: aws-auth written by Terraform needs an apply inside the VPC."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.aws_auth_in_vpc import aws_auth_in_vpc

from ..workload_builders import cluster, graph_of, kubectl, only, resource, run, verdicts


def aws_auth(address: str = "kubernetes_config_map_v1_data.aws_auth",
             namespace: str = "kube-system", name: str = "aws-auth"):  # type: ignore[no-untyped-def]
    return resource(address, {"metadata": [{"name": name, "namespace": namespace}],
                              "data": {"mapRoles": "- rolearn: arn:aws:iam::1:role/node\n"},
                              "force": True}, provider="kubernetes")


def test_private_cluster_fails_low() -> None:
    results = run(aws_auth_in_vpc, graph_of(cluster("main"), aws_auth()))
    result = only(results, "kubernetes_config_map_v1_data.aws_auth")
    assert result.status is Status.FAIL
    assert result.severity is None  # the policy's own severity: low
    assert aws_auth_in_vpc.severity.value == "low"
    assert "the apply must run inside the VPC" in result.message
    assert 'authentication_mode = "API"' in result.remediation
    assert result.evidence == ("kubernetes_config_map_v1_data.aws_auth", "aws_eks_cluster.main")


def test_fails_whatever_the_authentication_mode() -> None:
    results = run(aws_auth_in_vpc, graph_of(
        cluster("main", authentication_mode="API_AND_CONFIG_MAP"),
        aws_auth("kubernetes_config_map.aws_auth")))
    assert verdicts(results) == [("fail", "kubernetes_config_map.aws_auth")]


def test_public_endpoint_passes() -> None:
    results = run(aws_auth_in_vpc, graph_of(cluster("main", public=True), aws_auth()))
    assert verdicts(results) == [("pass", "kubernetes_config_map_v1_data.aws_auth")]


def test_unknown_public_access() -> None:
    main = cluster("main")
    main.values["vpc_config"][0]["endpoint_public_access"] = Unknown("var.public")
    (result,) = run(aws_auth_in_vpc, graph_of(main, aws_auth()))
    assert result.status is Status.UNKNOWN


def test_cluster_not_in_the_input_is_assumed_private() -> None:
    (result,) = run(aws_auth_in_vpc, graph_of(aws_auth()))
    assert result.status is Status.FAIL
    assert "not in the input" in result.message


def test_access_entries_without_aws_auth_pass_on_the_cluster() -> None:
    results = run(aws_auth_in_vpc, graph_of(cluster("main", authentication_mode="API"),
                                            cluster("legacy")))
    assert verdicts(results) == [("pass", "aws_eks_cluster.main")]


def test_other_config_maps_are_ignored() -> None:
    assert run(aws_auth_in_vpc, graph_of(cluster("main"), aws_auth(name="coredns"),
                                         aws_auth("kubernetes_config_map.x", "default"))) == []


def test_manifest_config_map() -> None:
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n"
            "  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: x\n")
    results = run(aws_auth_in_vpc, graph_of(cluster("main"), kubectl("kubectl_manifest.auth",
                                                                     body)))
    assert verdicts(results) == [("fail", "kubectl_manifest.auth")]
