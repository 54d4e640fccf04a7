"""PC604 unsupported-in-private: Marketplace products, App Mesh controller."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.unsupported_in_private import unsupported_in_private

from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    resource,
    run,
    verdicts,
)


def results_for(*resources):  # type: ignore[no-untyped-def]
    return run(unsupported_in_private, graph_of(cluster("main"), *resources))


def addon(address: str, name: object):  # type: ignore[no-untyped-def]
    return resource(address, {"addon_name": name, "cluster_name": "main"})


def test_marketplace_addon_fails_and_aws_addons_pass() -> None:
    results = results_for(addon("aws_eks_addon.dynatrace", "dynatrace_dynatrace-operator"),
                          addon("aws_eks_addon.efs", "aws-efs-csi-driver"))
    assert verdicts(results) == [("fail", "aws_eks_addon.dynatrace"),
                                 ("pass", "aws_eks_addon.efs")]
    fail = next(r for r in results if r.status is Status.FAIL)
    assert "AWS Marketplace add-on (vendor prefix dynatrace_)" in fail.message
    assert fail.data == {"addon": "dynatrace_dynatrace-operator"}


def test_unknown_addon_name() -> None:
    (result,) = results_for(addon("aws_eks_addon.x", Unknown("var.addon")))
    assert result.status is Status.UNKNOWN


def test_marketplace_registry_image_fails() -> None:
    image = "709825985650.dkr.ecr.us-east-1.amazonaws.com/vendor/product:1.0"
    (result,) = results_for(deployment("kubernetes_deployment_v1.product",
                                       container("product", image)))
    assert result.status is Status.FAIL
    assert result.data == {"image": image}
    assert "Marketplace Metering Service" in result.message


def test_appmesh_controller_chart_and_container_fail() -> None:
    results = results_for(
        helm("helm_release.appmesh", "appmesh-controller",
             repository="https://aws.github.io/eks-charts"),
        deployment("kubernetes_deployment_v1.appmesh", container(
            "controller", "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon/"
                          "appmesh-controller:v1.12.0")),
    )
    assert verdicts(results) == [("fail", "helm_release.appmesh"),
                                 ("fail", "kubernetes_deployment_v1.appmesh")]


def test_sidecar_injector_and_fsx_csi_are_fine() -> None:
    assert results_for(
        helm("helm_release.injector", "appmesh-inject"),
        helm("helm_release.fsx", "aws-fsx-csi-driver"),
        deployment("kubernetes_deployment_v1.web", container("web", "nginx")),
    ) == []
