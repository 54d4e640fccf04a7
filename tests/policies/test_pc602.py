"""PC602 cluster-autoscaler: --aws-use-static-instance-list=true."""

from __future__ import annotations

from tfcheck.model import Sensitive, Status, Unknown
from tfcheck_policies.cluster_autoscaler import cluster_autoscaler

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

CA_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/autoscaling/cluster-autoscaler:v1.29.0"


def results_for(*resources):  # type: ignore[no-untyped-def]
    return run(cluster_autoscaler, graph_of(cluster("main"), *resources))


class TestHelm:
    def test_set_block_true_passes(self) -> None:
        (result,) = results_for(helm("helm_release.ca", "cluster-autoscaler", sets={
            "extraArgs.aws-use-static-instance-list": "true"}))
        assert result.status is Status.PASS
        assert "PC301 requires the autoscaling and sts endpoints" in result.message
        assert result.data == {"flag": "--aws-use-static-instance-list",
                               "value_path": "extraArgs.aws-use-static-instance-list"}

    def test_values_yaml_true_passes(self) -> None:
        (result,) = results_for(helm("helm_release.ca", "autoscaler/cluster-autoscaler", values=[
            "extraArgs:\n  aws-use-static-instance-list: true\n  v: 4\n"]))
        assert result.status is Status.PASS

    def test_not_set_fails(self) -> None:
        (result,) = results_for(helm("helm_release.ca", "cluster-autoscaler", sets={
            "autoDiscovery.clusterName": "main"}))
        assert result.status is Status.FAIL
        assert result.subject.address == "helm_release.ca"
        assert "extraArgs.aws-use-static-instance-list is not set" in result.message
        assert 'name  = "extraArgs.aws-use-static-instance-list"' in result.remediation

    def test_false_fails(self) -> None:
        (result,) = results_for(helm("helm_release.ca", "cluster-autoscaler", values=[
            "extraArgs:\n  aws-use-static-instance-list: false\n"]))
        assert result.status is Status.FAIL
        assert "is False" in result.message

    def test_sensitive_value_is_not_printed(self) -> None:
        release = helm("helm_release.ca", "cluster-autoscaler", set_sensitive=[
            {"name": "extraArgs.aws-use-static-instance-list", "value": Sensitive("nope"),
             "type": None}])
        (result,) = results_for(release)
        assert result.status is Status.FAIL
        assert "nope" not in result.message
        assert "(sensitive value)" in result.message

    def test_unknown_value(self) -> None:
        release = helm("helm_release.ca", "cluster-autoscaler")
        release.values["set"] = [{"name": "extraArgs.aws-use-static-instance-list",
                                  "value": Unknown("var.static_list"), "type": None}]
        (result,) = results_for(release)
        assert result.status is Status.UNKNOWN
        assert "var.static_list" in result.message

    def test_unknown_values_document(self) -> None:
        (result,) = results_for(helm("helm_release.ca", "cluster-autoscaler",
                                     values=[Unknown("file(var.values)")]))  # type: ignore[list-item]
        assert result.status is Status.UNKNOWN

    def test_other_cloud_provider_is_not_checked(self) -> None:
        assert results_for(helm("helm_release.ca", "cluster-autoscaler", sets={
            "cloudProvider": "clusterapi"})) == []

    def test_other_charts_are_not_checked(self) -> None:
        assert results_for(helm("helm_release.ms", "metrics-server")) == []


class TestContainer:
    def test_flag_in_command(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.ca", container(
            "cluster-autoscaler", CA_IMAGE, command=[
                "./cluster-autoscaler", "--cloud-provider=aws",
                "--aws-use-static-instance-list=true"])))
        assert result.status is Status.PASS

    def test_flag_missing(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.ca", container(
            "cluster-autoscaler", CA_IMAGE, command=["./cluster-autoscaler", "--v=4"])))
        assert result.status is Status.FAIL
        assert "container 'cluster-autoscaler' runs without " \
               "--aws-use-static-instance-list=true" in result.message

    def test_flag_false(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.ca", container(
            "cluster-autoscaler", CA_IMAGE, args=["--aws-use-static-instance-list=false"])))
        assert result.status is Status.FAIL

    def test_unknown_argument(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.ca", container(
            "cluster-autoscaler", CA_IMAGE, args=[Unknown("var.extra_args")])))  # type: ignore[list-item]
        assert result.status is Status.UNKNOWN

    def test_manifest_yaml(self) -> None:
        body = (
            "apiVersion: apps/v1\nkind: Deployment\n"
            "metadata: {name: cluster-autoscaler, namespace: kube-system}\n"
            "spec:\n  template:\n    spec:\n      containers:\n"
            f"      - image: {CA_IMAGE}\n        name: cluster-autoscaler\n"
            "        command:\n        - ./cluster-autoscaler\n"
            "        - --cloud-provider=aws\n"
            "        - --node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled\n"
        )
        results = results_for(kubectl("kubectl_manifest.ca", body),
                              deployment("kubernetes_deployment_v1.web",
                                         container("web", "nginx")))
        assert verdicts(results) == [("fail", "kubectl_manifest.ca")]
        assert "Deployment kube-system/cluster-autoscaler" in only(
            results, "kubectl_manifest.ca").message
