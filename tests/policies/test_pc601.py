"""PC601 image-registry: images come from ECR in the cluster's region or an allowed registry."""

from __future__ import annotations

from tfcheck.config import Config
from tfcheck.graph import ProviderConfig
from tfcheck.model import Sensitive, Status, Unknown
from tfcheck_policies.image_registry import image_registry

from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    kubectl,
    only,
    resource,
    run,
    verdicts,
)

ECR = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"


def results_for(*resources, config: Config | None = None, **kwargs):  # type: ignore[no-untyped-def]
    return run(image_registry, graph_of(cluster("main"), *resources, **kwargs), config)


def by_image(results):  # type: ignore[no-untyped-def]
    return {(r.subject.address, r.data["image"]): r for r in results}


def test_docker_hub_short_name_fails() -> None:
    results = results_for(deployment("kubernetes_deployment_v1.web",
                                     container("web", "nginx:1.25")))
    result = only(results, "kubernetes_deployment_v1.web")
    assert result.status is Status.FAIL
    assert result.data == {"image": "nginx:1.25", "registry": "docker.io",
                           "where": "container 'web' (spec.template.spec.container[0])"}
    assert "pulls nginx:1.25 from Docker Hub (a short name)" in result.message
    # the mirror plan's reference: Docker Hub through a pull-through cache rule
    assert ('image = "<account>.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx:1.25"'
            in result.remediation)
    assert "tfcheck images PATH --format hcl" in result.remediation
    assert result.evidence == ("kubernetes_deployment_v1.web", "aws_eks_cluster.main")


def test_ecr_in_the_cluster_region_passes_and_init_containers_count() -> None:
    results = results_for(deployment(
        "kubernetes_deployment_v1.web", container("web", f"{ECR}/web:1.0"),
        init=[container("migrate", "public.ecr.aws/docker/library/busybox:1.36")]))
    found = by_image(results)
    assert found[("kubernetes_deployment_v1.web", f"{ECR}/web:1.0")].status is Status.PASS
    init = found[("kubernetes_deployment_v1.web", "public.ecr.aws/docker/library/busybox:1.36")]
    assert init.status is Status.FAIL
    assert "public ECR (public.ecr.aws), which no VPC endpoint serves" in init.message
    assert init.data["where"] == "init container 'migrate' (spec.template.spec.init_container[0])"


def test_ecr_in_another_region_fails() -> None:
    image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1.0"
    (result,) = results_for(deployment("kubernetes_deployment_v1.web", container("web", image)))
    assert result.status is Status.FAIL
    assert "ECR in us-east-1, but the cluster is in eu-west-1" in result.message


def test_allow_listed_registry_passes() -> None:
    config = Config(allowed_registries=("harbor.internal.example.com/platform",))
    results = results_for(
        deployment("kubernetes_deployment_v1.a",
                   container("a", "harbor.internal.example.com/platform/app:2")),
        deployment("kubernetes_deployment_v1.b",
                   container("b", "harbor.internal.example.com/other/app:2")),
        config=config)
    assert verdicts(results) == [("fail", "kubernetes_deployment_v1.b"),
                                 ("pass", "kubernetes_deployment_v1.a")]
    assert "allow-list" in only(results, "kubernetes_deployment_v1.a").message


def test_unknown_image_is_unknown() -> None:
    (result,) = results_for(deployment("kubernetes_deployment_v1.web",
                                       container("web", Unknown("var.image has no value"))))
    assert result.status is Status.UNKNOWN
    assert "the image is not known (var.image has no value)" in result.message


def test_region_unknown_without_cluster_or_provider_region() -> None:
    graph = graph_of(deployment("kubernetes_deployment_v1.web", container("web",
                                                                          f"{ECR}/web:1")))
    (result,) = run(image_registry, graph)
    assert result.status is Status.UNKNOWN
    assert "cluster's region is not known" in result.message
    # ...but a public image still fails: that part does not depend on the region
    graph = graph_of(deployment("kubernetes_deployment_v1.web", container("web", "nginx")))
    (result,) = run(image_registry, graph)
    assert result.status is Status.FAIL


def test_region_from_the_aws_provider_in_a_workloads_only_root() -> None:
    graph = graph_of(
        deployment("kubernetes_deployment_v1.web", container("web", f"{ECR}/web:1")),
        providers=[ProviderConfig(key="aws", region="eu-west-1")])
    (result,) = run(image_registry, graph)
    assert result.status is Status.PASS


def test_helm_chart_default_image() -> None:
    results = results_for(helm("helm_release.metrics_server", "metrics-server",
                               repository="https://kubernetes-sigs.github.io/metrics-server/"))
    result = only(results, "helm_release.metrics_server")
    assert result.status is Status.FAIL
    assert result.data["image"] == "registry.k8s.io/metrics-server/metrics-server"
    assert result.data["where"].startswith("chart default image.repository")
    assert 'name  = "image.repository"' in result.remediation


def test_helm_override_in_set_block() -> None:
    results = results_for(helm("helm_release.metrics_server", "metrics-server", sets={
        "image.repository": f"{ECR}/metrics-server/metrics-server"}))
    assert verdicts(results) == [("pass", "helm_release.metrics_server")]


def test_helm_override_in_values_yaml_and_other_images() -> None:
    results = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", values=[
        f"image:\n  repository: {ECR}/eks/aws-load-balancer-controller\n  tag: v2.7.1\n"
        "sidecar:\n  image: quay.io/prometheus/node-exporter:v1.7.0\n"]))
    found = by_image(results)
    assert found[("helm_release.lbc", f"{ECR}/eks/aws-load-balancer-controller")].status \
        is Status.PASS
    sidecar = found[("helm_release.lbc", "quay.io/prometheus/node-exporter:v1.7.0")]
    assert sidecar.status is Status.FAIL
    assert "quay.io, a registry on the internet" in sidecar.message


def test_unknown_values_make_a_failing_default_unknown() -> None:
    release = helm("helm_release.ms", "metrics-server",
                   values=[Unknown("templatefile: var.values_file")])  # type: ignore[list-item]
    (result,) = results_for(release)
    assert result.status is Status.UNKNOWN
    assert "values that may override it are not known" in result.message


def test_unknown_chart_without_images_is_unknown() -> None:
    (result,) = results_for(helm("helm_release.app", "./charts/app"))
    assert result.status is Status.UNKNOWN
    assert result.data == {"chart": "app"}


def test_sensitive_image_is_never_printed() -> None:
    release = helm("helm_release.app", "my-app", set_sensitive=[
        {"name": "image.repository", "value": Sensitive("docker.io/acme/secret-app"),
         "type": None}])
    (result,) = results_for(release)
    assert result.status is Status.FAIL
    assert "secret-app" not in result.message + result.remediation + repr(result.data)
    assert result.data["image"] == "(sensitive value)"


def test_kubectl_manifest_documents() -> None:
    body = (
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: ops}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        f"      - name: agent\n        image: {ECR}/agent:1\n"
        "---\n"
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "      - name: once\n        image: ghcr.io/acme/once:1\n"
    )
    results = results_for(kubectl("kubectl_manifest.ops", body))
    found = by_image(results)
    assert found[("kubectl_manifest.ops", f"{ECR}/agent:1")].status is Status.PASS
    job = found[("kubectl_manifest.ops", "ghcr.io/acme/once:1")]
    assert job.status is Status.FAIL
    assert job.data["where"] == "container 'once' (spec.template.spec.containers[0])"


def test_kubernetes_manifest_object() -> None:
    manifest = resource("kubernetes_manifest.pod", {"manifest": {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"},
        "spec": {"containers": [{"name": "debug", "image": "busybox"}]}}},
        provider="kubernetes")
    (result,) = results_for(manifest)
    assert (result.status, result.data["image"]) == (Status.FAIL, "busybox")


def test_addons_pass_and_efs_and_marketplace_images_are_left_to_other_policies() -> None:
    results = results_for(
        resource("aws_eks_addon.coredns", {"addon_name": "coredns", "cluster_name": "main"}),
        resource("aws_eks_addon.vendor", {"addon_name": "dynatrace_dynatrace-operator",
                                          "cluster_name": "main"}),
        helm("helm_release.efs", "aws-efs-csi-driver"),
        deployment("kubernetes_deployment_v1.mp", container(
            "mp", "709825985650.dkr.ecr.us-east-1.amazonaws.com/vendor/product:1")),
    )
    assert verdicts(results) == [("pass", "aws_eks_addon.coredns")]


def test_unreadable_manifest_is_unknown() -> None:
    results = results_for(kubectl("kubectl_manifest.docs", Unknown(
        "data.kubectl_file_documents.docs is read at plan time")))
    result = only(results, "kubectl_manifest.docs")
    assert result.status is Status.UNKNOWN
    assert "cannot tell which images it deploys" in result.message


def test_bitnami_style_registry_and_repository_are_both_rewritten() -> None:
    results = results_for(helm("helm_release.redis", "redis", values=[
        "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2.5\n"]))
    result = only(results, "helm_release.redis")
    assert result.status is Status.FAIL
    assert 'name  = "image.registry"\n  value = "<account>.dkr.ecr.eu-west-1.amazonaws.com"' \
        in result.remediation
    assert 'name  = "image.repository"\n  value = "docker-hub/bitnami/redis"' in result.remediation
