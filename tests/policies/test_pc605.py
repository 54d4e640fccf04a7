"""PC605 sts-regional: IRSA workloads use the regional STS endpoint."""

from __future__ import annotations

from tfcheck.config import Config
from tfcheck.model import Status, Unknown
from tfcheck_policies.sts_regional import sts_regional

from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    kubectl,
    only,
    run,
    service_account,
    verdicts,
)

ROLE = {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/orders"}
IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders:1"


def results_for(*resources, config: Config | None = None):  # type: ignore[no-untyped-def]
    return run(sts_regional, graph_of(cluster("main"), *resources), config)


def orders(env: dict | None = None, *, namespace: str = "shop",  # type: ignore[type-arg]
           account: str = "orders", image: str = IMAGE):  # type: ignore[no-untyped-def]
    return deployment("kubernetes_deployment_v1.orders", container("orders", image, env=env),
                      namespace=namespace, service_account=account)


def test_missing_env_fails() -> None:
    results = results_for(service_account("kubernetes_service_account_v1.orders", "orders",
                                          "shop", ROLE), orders())
    result = only(results, "kubernetes_deployment_v1.orders")
    assert result.status is Status.FAIL
    assert result.evidence == ("kubernetes_deployment_v1.orders",
                               "kubernetes_service_account_v1.orders")
    assert "container 'orders' do not set AWS_STS_REGIONAL_ENDPOINTS=regional" in result.message
    assert "also set AWS_REGION" in result.message
    assert result.data == {"service_account": "kubernetes_service_account_v1.orders",
                           "containers": ["container 'orders'"]}


def test_env_regional_passes() -> None:
    (result,) = results_for(
        service_account("kubernetes_service_account_v1.orders", "orders", "shop", ROLE),
        orders({"AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_REGION": "eu-west-1"}))
    assert result.status is Status.PASS


def test_service_account_annotation_passes() -> None:
    (result,) = results_for(
        service_account("kubernetes_service_account_v1.orders", "orders", "shop", {
            **ROLE, "eks.amazonaws.com/sts-regional-endpoints": "true"}),
        orders())
    assert result.status is Status.PASS
    assert "sts-regional-endpoints" in result.message


def test_unknown_env_value() -> None:
    (result,) = results_for(
        service_account("kubernetes_service_account_v1.orders", "orders", "shop", ROLE),
        orders({"AWS_STS_REGIONAL_ENDPOINTS": Unknown("var.sts_mode")}))  # type: ignore[dict-item]
    assert result.status is Status.UNKNOWN


def test_account_in_another_namespace_is_not_used() -> None:
    assert results_for(
        service_account("kubernetes_service_account_v1.orders", "orders", "billing", ROLE),
        orders()) == []


def test_service_account_without_role_is_not_irsa() -> None:
    assert results_for(service_account("kubernetes_service_account_v1.orders", "orders", "shop"),
                       orders()) == []


def test_default_service_account_with_role() -> None:
    results = results_for(
        service_account("kubernetes_service_account_v1.default", "default", "shop", ROLE),
        deployment("kubernetes_deployment_v1.orders", container("orders", IMAGE),
                   namespace="shop"))
    assert verdicts(results) == [("fail", "kubernetes_deployment_v1.orders")]


def test_allow_listed_sdk_images_are_exempt() -> None:
    (result,) = results_for(
        service_account("kubernetes_service_account_v1.orders", "orders", "shop", ROLE),
        orders(), config=Config(sts_regional_images=(IMAGE.rsplit(":", 1)[0],)))
    assert result.status is Status.PASS


def test_manifest_service_account_and_deployment() -> None:
    body = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: orders\n  namespace: shop\n"
        "  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/o\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: orders, namespace: shop}\n"
        "spec:\n  template:\n    spec:\n      serviceAccountName: orders\n      containers:\n"
        f"      - name: orders\n        image: {IMAGE}\n"
    )
    results = results_for(kubectl("kubectl_manifest.orders", body))
    assert verdicts(results) == [("fail", "kubectl_manifest.orders")]


class TestHelm:
    def test_role_annotation_without_regional_fails(self) -> None:
        results = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", values=[
            "serviceAccount:\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/lbc\n"]))
        result = only(results, "helm_release.lbc")
        assert result.status is Status.FAIL
        assert "values serviceAccount.annotations.eks.amazonaws.com/role-arn" in result.message
        assert "sts-regional-endpoints" in result.remediation

    def test_annotation_set_block_passes(self) -> None:
        results = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", sets={
            r"serviceAccount.annotations.eks\.amazonaws\.com/role-arn":
                "arn:aws:iam::111122223333:role/lbc",
            r"serviceAccount.annotations.eks\.amazonaws\.com/sts-regional-endpoints": "true",
        }))
        assert verdicts(results) == [("pass", "helm_release.lbc")]

    def test_env_map_passes(self) -> None:
        results = results_for(helm("helm_release.ca", "cluster-autoscaler", values=[
            "rbac:\n  serviceAccount:\n    annotations:\n"
            "      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/ca\n"
            "extraEnv:\n  AWS_STS_REGIONAL_ENDPOINTS: regional\n"]))
        assert verdicts(results) == [("pass", "helm_release.ca")]

    def test_env_list_passes(self) -> None:
        results = results_for(helm("helm_release.app", "app", values=[
            "serviceAccount:\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n"
            "env:\n- name: AWS_STS_REGIONAL_ENDPOINTS\n  value: regional\n"]))
        assert verdicts(results) == [("pass", "helm_release.app")]

    def test_efs_chart_regional_switch(self) -> None:
        results = results_for(helm("helm_release.efs", "aws-efs-csi-driver", values=[
            "controller:\n  regionalStsEndpoints: true\n  serviceAccount:\n    annotations:\n"
            "      eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/efs\n"]))
        assert verdicts(results) == [("pass", "helm_release.efs")]

    def test_chart_using_an_input_service_account(self) -> None:
        results = results_for(
            service_account("kubernetes_service_account_v1.ca", "cluster-autoscaler",
                            "kube-system", ROLE),
            helm("helm_release.ca", "cluster-autoscaler", sets={
                "rbac.serviceAccount.create": "false",
                "rbac.serviceAccount.name": "cluster-autoscaler"}))
        result = only(results, "helm_release.ca")
        assert result.status is Status.FAIL
        assert result.evidence == ("helm_release.ca", "kubernetes_service_account_v1.ca")

    def test_allow_listed_chart_images(self) -> None:
        release = helm("helm_release.lbc", "aws-load-balancer-controller", values=[
            "image:\n  repository: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/eks/lbc\n"
            "serviceAccount:\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/lbc\n"])
        config = Config(sts_regional_images=("111122223333.dkr.ecr.eu-west-1.amazonaws.com/eks/",))
        assert verdicts(results_for(release, config=config)) == [("pass", "helm_release.lbc")]
        assert verdicts(results_for(release)) == [("fail", "helm_release.lbc")]

    def test_release_without_irsa_is_not_checked(self) -> None:
        assert results_for(helm("helm_release.ms", "metrics-server")) == []
