"""PC607 karpenter-isolated-vpc, and the endpoints Karpenter needs (PC301)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tfcheck.engine import scan
from tfcheck.model import Sensitive, Status, Unknown
from tfcheck.policy import ScanContext
from tfcheck.registry import load_policies
from tfcheck.workloads import workload_endpoint_needs
from tfcheck_policies.karpenter_isolated_vpc import karpenter_isolated_vpc

from ..conftest import REPO
from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    kubectl,
    only,
    run,
    verdicts,
)

CHART = "oci://public.ecr.aws/karpenter/karpenter"
CONTROLLER = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/karpenter/controller:1.1.1"


def results_for(*resources):  # type: ignore[no-untyped-def]
    return run(karpenter_isolated_vpc, graph_of(cluster("main"), *resources))


def node_class(address: str, spec: str) -> object:
    return kubectl(address, "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\n"
                            f"metadata:\n  name: default\nspec:\n{spec}")


class TestHelm:
    def test_isolated_vpc_in_values_passes(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", CHART, values=[
            "settings:\n  clusterName: main\n  isolatedVPC: true\n"]))
        assert result.status is Status.PASS
        assert result.data == {"setting": "settings.isolatedVPC"}

    def test_set_block_string_true_passes(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", "karpenter", sets={
            "settings.isolatedVPC": "true"}))
        assert result.status is Status.PASS

    def test_older_charts_settings_aws(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", "karpenter", version="v0.31.4",
                                     sets={"settings.aws.isolatedVPC": "true"}))
        assert result.status is Status.PASS
        assert result.data == {"setting": "settings.aws.isolatedVPC"}

    def test_env_in_controller_values(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", "karpenter", values=[
            "controller:\n  env:\n    - name: AWS_ISOLATED_VPC\n      value: \"true\"\n"]))
        assert result.status is Status.PASS and "env AWS_ISOLATED_VPC" in result.message

    def test_not_set_fails_with_the_remediation_of_the_chart_version(self) -> None:
        (new,) = results_for(helm("helm_release.karpenter", CHART, version="1.1.1"))
        assert new.status is Status.FAIL and "Price List API" in new.message
        assert 'name  = "settings.isolatedVPC"' in (new.remediation or "")
        (old,) = results_for(helm("helm_release.karpenter", CHART, version="0.31.4"))
        assert 'name  = "settings.aws.isolatedVPC"' in (old.remediation or "")

    def test_false_fails_and_sensitive_values_are_not_printed(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", "karpenter", values=[
            "settings:\n  isolatedVPC: false\n"]))
        assert result.status is Status.FAIL and "is False" in result.message
        release = helm("helm_release.karpenter", "karpenter",
                       set_sensitive=[{"name": "settings.isolatedVPC", "value": "false"}])
        (hidden,) = results_for(release)
        assert hidden.status is Status.FAIL and "(sensitive value)" in hidden.message

    def test_unknown_leaf_is_unknown_naming_it(self) -> None:
        release = helm("helm_release.karpenter", "karpenter")
        release.values["set"] = [{"name": "settings.isolatedVPC", "type": None,
                                  "value": Unknown("variable isolated has no value")}]
        (result,) = results_for(release)
        assert result.status is Status.UNKNOWN and "variable isolated" in result.message

    def test_unreadable_values_are_unknown(self) -> None:
        (result,) = results_for(helm("helm_release.karpenter", "karpenter",
                                     values=[Unknown("var.values is not known")]))
        assert result.status is Status.UNKNOWN and "var.values" in result.message

    def test_other_charts_are_not_karpenter(self) -> None:
        assert results_for(helm("helm_release.crd", "karpenter-crd")) == []


class TestContainer:
    def test_env_and_flag(self) -> None:
        results = results_for(
            deployment("kubernetes_deployment_v1.on",
                       container("controller", CONTROLLER, env={"ISOLATED_VPC": "true"}),
                       namespace="karpenter"),
            deployment("kubernetes_deployment_v1.flag",
                       container("controller", CONTROLLER, args=["--isolated-vpc"]),
                       namespace="karpenter"),
            deployment("kubernetes_deployment_v1.off",
                       container("controller", CONTROLLER), namespace="karpenter"))
        assert verdicts(results) == [("fail", "kubernetes_deployment_v1.off"),
                                     ("pass", "kubernetes_deployment_v1.flag"),
                                     ("pass", "kubernetes_deployment_v1.on")]
        off = only(results, "kubernetes_deployment_v1.off")
        assert 'name  = "ISOLATED_VPC"' in (off.remediation or "")

    def test_env_from_a_secret_is_unknown(self) -> None:
        item = container("controller", CONTROLLER)
        item["env"] = [{"name": "ISOLATED_VPC", "value": None,
                        "value_from": [{"config_map_key_ref": [{"name": "k"}]}]}]
        (result,) = results_for(deployment("kubernetes_deployment_v1.k", item))
        assert result.status is Status.UNKNOWN


class TestNodeClass:
    def test_role_fails_instance_profile_passes(self) -> None:
        results = results_for(
            node_class("kubectl_manifest.role", "  role: KarpenterNodeRole-main\n"),
            node_class("kubectl_manifest.profile", "  instanceProfile: karpenter-node\n"))
        assert verdicts(results) == [("fail", "kubectl_manifest.role"),
                                     ("pass", "kubectl_manifest.profile")]
        role = only(results, "kubectl_manifest.role")
        assert "KarpenterNodeRole-main" in role.message and "IAM" in role.message
        assert "aws_iam_instance_profile" in (role.remediation or "")

    def test_role_known_only_after_apply_still_fails(self) -> None:
        body = Unknown("aws_iam_role.node.name is known only after apply",
                       ("aws_iam_role.node.name",),
                       partial="apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\n"
                               "metadata:\n  name: default\nspec:\n"
                               "  role: ${aws_iam_role.node.name}\n")
        (result,) = results_for(kubectl("kubectl_manifest.nc", body))
        assert result.status is Status.FAIL and "names an IAM role" in result.message

    def test_sensitive_manifest_does_not_print_the_role(self) -> None:
        item = node_class("kubectl_manifest.nc", "  role: secret-role\n")
        item.values["yaml_body"] = Sensitive(item.values["yaml_body"])  # type: ignore[attr-defined]
        (result,) = results_for(item)
        assert result.status is Status.FAIL and "secret-role" not in result.message


def needs(*resources: object) -> list[tuple[str, str]]:
    ctx = ScanContext(graph_of(cluster("main"), *resources))  # type: ignore[arg-type]
    return [(n.service, n.reason) for n in workload_endpoint_needs(ctx)
            if n.resource.address.startswith(("helm_release.karpenter", "kubernetes_"))]


class TestEndpointNeeds:
    def test_chart_with_queue_and_no_endpoint(self) -> None:
        found = needs(helm("helm_release.karpenter", CHART, values=[
            "settings:\n  interruptionQueue: main\n  isolatedVPC: true\n"
            "serviceAccount:\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/karpenter\n"]))
        assert [s for s, _ in found] == ["ec2", "eks", "sqs", "ssm", "sts"]
        assert dict(found)["sqs"] == ("Karpenter interruption handling "
                                      "(value settings.interruptionQueue)")

    def test_cluster_endpoint_set_and_no_queue(self) -> None:
        found = needs(helm("helm_release.karpenter", "karpenter", sets={
            "settings.clusterEndpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com"}))
        assert [s for s, _ in found] == ["ec2", "ssm"]

    def test_unknown_endpoint_is_set(self) -> None:
        release = helm("helm_release.karpenter", "karpenter")
        release.values["set"] = [{"name": "settings.clusterEndpoint", "type": None,
                                  "value": Unknown("aws_eks_cluster.main.endpoint is known "
                                                   "only after apply")}]
        assert "eks" not in [s for s, _ in needs(release)]

    def test_older_settings_and_container_env(self) -> None:
        old = needs(helm("helm_release.karpenter", "karpenter", sets={
            "settings.aws.interruptionQueueName": "main",
            "settings.aws.clusterEndpoint": "https://x"}))
        assert [s for s, _ in old] == ["ec2", "sqs", "ssm"]
        pod = needs(deployment("kubernetes_deployment_v1.karpenter", container(
            "controller", CONTROLLER, env={"INTERRUPTION_QUEUE": "main"})))
        assert [s for s, _ in pod] == ["ec2", "eks", "sqs", "ssm"]


# -- end to end: the complete private cluster plus a Karpenter release ----------------------

KARPENTER_RELEASE = """
resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = "kube-system"
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"
  version    = "1.1.1"

  values = [yamlencode({
    settings = {
      clusterName       = aws_eks_cluster.main.name
      interruptionQueue = "karpenter-main"
      isolatedVPC       = true
    }
  })]
}
"""


def test_pc301_requires_karpenters_endpoints(tmp_path: Path) -> None:
    """The good private cluster has ssm and ec2 endpoints but neither sqs nor eks."""
    base = REPO / "fixtures" / "plans" / "good-private-cluster"
    case = tmp_path / "case"
    shutil.copytree(base, case, ignore=shutil.ignore_patterns("plan.json", "expect.txt"))
    main = case / "main.tf"
    main.write_text(main.read_text(encoding="utf-8") + KARPENTER_RELEASE, encoding="utf-8")
    policies = [p for p in load_policies()[0] if p.id == "PC301"]
    report = scan([case], policies=policies)
    failed = {f.data.get("service"): f for f in report.findings if f.status is Status.FAIL}
    assert set(failed) == {"sqs", "eks"}, [f.message for f in report.findings]
    assert failed["eks"].data["required_by"] == ["helm_release.karpenter"]
    assert "eks:DescribeCluster" in failed["eks"].message
    passed = {f.data.get("service") for f in report.findings if f.status is Status.PASS}
    assert {"ec2", "ssm"} <= passed
