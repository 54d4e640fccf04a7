"""PC606 efs-csi-region: EFS CSI driver images from ECR in the cluster's region."""

from __future__ import annotations

from tfcheck.model import Status
from tfcheck_policies.efs_csi_region import efs_csi_region
from tfcheck_policies.image_registry import image_registry

from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    kubectl,
    resource,
    run,
    verdicts,
)

OWN = "602401143452.dkr.ecr.eu-west-1.amazonaws.com"
OTHER = "602401143452.dkr.ecr.us-west-2.amazonaws.com"


def results_for(*resources):  # type: ignore[no-untyped-def]
    return run(efs_csi_region, graph_of(cluster("main"), *resources))


def test_other_region_ecr_fails_and_pc601_stays_silent() -> None:
    release = helm("helm_release.efs", "aws-efs-csi-driver", sets={
        "image.repository": f"{OTHER}/eks/aws-efs-csi-driver",
        "sidecars.livenessProbe.image.repository": f"{OWN}/eks/livenessprobe",
        "sidecars.nodeDriverRegistrar.image.repository": f"{OWN}/eks/csi-node-driver-registrar",
        "sidecars.csiProvisioner.image.repository": f"{OWN}/eks/csi-provisioner",
    })
    results = results_for(release)
    fails = [r for r in results if r.status is Status.FAIL]
    assert [r.data["image"] for r in fails] == [f"{OTHER}/eks/aws-efs-csi-driver"]
    assert "ECR in us-west-2, but the cluster is in eu-west-1" in fails[0].message
    assert f'value = "{OWN}/eks/aws-efs-csi-driver"' in fails[0].remediation
    assert sum(r.status is Status.PASS for r in results) == 3
    assert run(image_registry, graph_of(cluster("main"), release)) == []


def test_chart_defaults_are_public_and_fail() -> None:
    results = results_for(helm("helm_release.efs", "aws-efs-csi-driver"))
    assert {r.status for r in results} == {Status.FAIL}
    assert sorted(r.data["image"] for r in results) == [
        "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver",
        "public.ecr.aws/eks-distro/kubernetes-csi/external-provisioner",
        "public.ecr.aws/eks-distro/kubernetes-csi/livenessprobe",
        "public.ecr.aws/eks-distro/kubernetes-csi/node-driver-registrar",
    ]


def test_own_region_passes() -> None:
    results = results_for(deployment("kubernetes_daemon_set_v1.efs_node", container(
        "efs-plugin", f"{OWN}/eks/aws-efs-csi-driver:v1.7.0"), container(
        "liveness-probe", f"{OWN}/eks/livenessprobe:v2.11.0")))
    assert verdicts(results) == [("pass", "kubernetes_daemon_set_v1.efs_node"),
                                 ("pass", "kubernetes_daemon_set_v1.efs_node")]


def test_kustomize_output_with_default_us_west_2() -> None:
    body = ("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: efs-csi-node, "
            "namespace: kube-system}\nspec:\n  template:\n    spec:\n      containers:\n"
            f"      - name: efs-plugin\n        image: {OTHER}/eks/aws-efs-csi-driver:v1.7.0\n"
            "      - name: liveness-probe\n"
            "        image: public.ecr.aws/eks-distro/kubernetes-csi/livenessprobe:v2.11.0\n")
    results = results_for(kubectl("kubectl_manifest.efs", body))
    assert verdicts(results) == [("fail", "kubectl_manifest.efs"),
                                 ("fail", "kubectl_manifest.efs")]


def test_addon_passes() -> None:
    (result,) = results_for(resource("aws_eks_addon.efs", {"addon_name": "aws-efs-csi-driver",
                                                           "cluster_name": "main"}))
    assert result.status is Status.PASS


def test_other_workloads_are_not_checked() -> None:
    assert results_for(deployment("kubernetes_deployment_v1.web",
                                  container("web", "nginx"))) == []


def test_unknown_region_or_image_is_unknown() -> None:
    from tfcheck.model import Unknown

    graph = graph_of(helm("helm_release.efs", "aws-efs-csi-driver", sets={
        "image.repository": f"{OWN}/eks/aws-efs-csi-driver",
        "sidecars.livenessProbe.image.repository": f"{OWN}/eks/livenessprobe",
        "sidecars.nodeDriverRegistrar.image.repository": f"{OWN}/eks/csi-node-driver-registrar",
        "sidecars.csiProvisioner.image.repository": f"{OWN}/eks/csi-provisioner"}))
    results = run(efs_csi_region, graph)  # no cluster, no aws provider region
    assert {r.status for r in results} == {Status.UNKNOWN}
    assert "the cluster's region is not known" in results[0].message

    results = results_for(deployment(
        "kubernetes_daemon_set_v1.efs",
        container("efs-plugin", f"{OWN}/eks/aws-efs-csi-driver:v2.0.0"),
        container("liveness-probe", Unknown("var.probe_image"))))
    assert sorted(r.status.value for r in results) == ["pass", "unknown"]
