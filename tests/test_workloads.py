"""Reading in-cluster workloads (tfcheck.workloads); builders are in workload_builders."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tfcheck.facts.membership import clusters_of_workload, regions_of
from tfcheck.facts.requirements import endpoint_needs
from tfcheck.graph import ProviderConfig
from tfcheck.model import Sensitive, Unknown
from tfcheck.policy import ScanContext
from tfcheck.workloads import (
    YamlRefused,
    chart_name,
    flag_value,
    helm_get,
    helm_path,
    image_uses,
    load_yaml_documents,
    parse_image,
    release_images,
    workload_endpoint_needs,
    workloads,
)

from .conftest import REPO

# builders live in tests/workload_builders.py
from .workload_builders import (
    cluster,
    container,
    ctx_of,
    deployment,
    helm,
    kubectl,
    resource,
    service_account,
)

# -- YAML safety -------------------------------------------------------------------------


class TestYaml:
    def test_multi_document(self) -> None:
        assert load_yaml_documents("a: 1\n---\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]

    def test_python_tags_are_refused(self) -> None:
        with pytest.raises(YamlRefused, match="invalid YAML"):
            load_yaml_documents("!!python/object/apply:os.system ['echo pwned']\n")

    def test_alias_bomb_is_refused(self) -> None:
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for i in range(1, 9):
            prev, cur = chr(96 + i), chr(97 + i)
            lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
        with pytest.raises(YamlRefused, match="aliases|expands"):
            load_yaml_documents("\n".join(lines))

    def test_few_aliases_expanding_hugely_are_refused(self) -> None:
        lines = ["a: &a [" + ", ".join(["x"] * 60) + "]"]
        for i in range(1, 5):
            prev, cur = chr(96 + i), chr(97 + i)
            lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 20) + "]")
        with pytest.raises(YamlRefused, match="expands"):
            load_yaml_documents("\n".join(lines))

    def test_recursive_alias_is_refused(self) -> None:
        with pytest.raises(YamlRefused, match="recursive"):
            load_yaml_documents("a: &a [*a]\n")

    def test_size_limit(self) -> None:
        with pytest.raises(YamlRefused, match="larger than"):
            load_yaml_documents("a: " + "x" * 1_100_000)

    def test_syntax_error_names_the_line(self) -> None:
        with pytest.raises(YamlRefused, match=r"invalid YAML at line \d"):
            load_yaml_documents("a: 1\nb: [\nc: ]]\n")


# -- small parsers --------------------------------------------------------------------------


@pytest.mark.parametrize(("chart", "name"), [
    ("cluster-autoscaler", "cluster-autoscaler"),
    ("autoscaler/cluster-autoscaler", "cluster-autoscaler"),
    ("oci://public.ecr.aws/karpenter/karpenter", "karpenter"),
    ("https://example.com/charts/metrics-server-3.12.1.tgz", "metrics-server"),
    ("./charts/my-app", "my-app"),
])
def test_chart_name(chart: str, name: str) -> None:
    assert chart_name(chart) == name


def test_helm_set_paths() -> None:
    assert helm_path(r"podAnnotations.eks\.amazonaws\.com/role-arn") == [
        "podAnnotations", "eks.amazonaws.com/role-arn"]
    assert helm_path("args[1].name") == ["args", 1, "name"]
    assert helm_get({"a": {"b.c": [None, {"d": 5}]}}, r"a.b\.c[1].d") == 5


@pytest.mark.parametrize(("image", "registry", "repository", "tag"), [
    ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
    ("bitnami/redis", "docker.io", "bitnami/redis", None),
    ("registry.k8s.io/autoscaling/cluster-autoscaler:v1.29.0", "registry.k8s.io",
     "autoscaling/cluster-autoscaler", "v1.29.0"),
    ("localhost:5000/app@sha256:abc", "localhost:5000", "app", None),
    ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/app:1", 
     "111122223333.dkr.ecr.eu-west-1.amazonaws.com", "team/app", "1"),
])
def test_parse_image(image: str, registry: str, repository: str, tag: str | None) -> None:
    ref = parse_image(image)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)


def test_ecr_registry_regions() -> None:
    assert parse_image("111122223333.dkr.ecr.eu-west-1.amazonaws.com/a").ecr == (
        "111122223333", "eu-west-1")
    assert parse_image("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/a").ecr == (
        "111122223333", "cn-north-1")
    assert parse_image("111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a").ecr == (
        "111122223333", "us-gov-west-1")
    assert parse_image("public.ecr.aws/eks/aws-load-balancer-controller").ecr is None
    assert parse_image("public.ecr.aws/eks/x").is_public_ecr


@pytest.mark.parametrize(("argv", "value"), [
    (["--aws-use-static-instance-list=true"], "true"),
    (["--aws-use-static-instance-list"], True),
    (["-aws-use-static-instance-list=false"], "false"),
    (["./cluster-autoscaler --v=4 --aws-use-static-instance-list=true"], "true"),
    (["--cloud-provider=aws"], None),
])
def test_flag_value(argv: list[str], value: object) -> None:
    assert flag_value(argv, "aws-use-static-instance-list") == value


def test_flag_value_unknown_argument() -> None:
    unknown = Unknown("var.extra_args")
    assert flag_value(["--v=4", unknown], "enable-waf") is unknown


# -- reading workloads -------------------------------------------------------------------


class TestReadWorkloads:
    def test_kubernetes_deployment(self) -> None:
        ctx = ctx_of(deployment(
            "kubernetes_deployment_v1.app",
            container("app", "nginx:1.25", env={"AWS_REGION": "eu-west-1"}),
            init=[container("init", "busybox")], service_account="app", namespace="apps"))
        (obj,) = workloads(ctx).objects
        assert (obj.kind, obj.name, obj.namespace) == ("Deployment", "app", "apps")
        assert obj.pod is not None
        assert obj.pod.service_account == "app"
        assert [(c.name, c.image, c.init) for c in obj.pod.containers] == [
            ("init", "busybox", True), ("app", "nginx:1.25", False)]
        assert obj.pod.containers[1].env == {"AWS_REGION": "eu-west-1"}
        assert obj.pod.containers[1].path == "spec.template.spec.container[0]"

    def test_cron_job_path(self) -> None:
        ctx = ctx_of(resource("kubernetes_cron_job_v1.backup", {
            "metadata": [{"name": "backup"}],
            "spec": [{"job_template": [{"spec": [{"template": [{"spec": [{
                "container": [container("b", "amazon/aws-cli")]}]}]}]}]}],
        }, provider="kubernetes"))
        (obj,) = workloads(ctx).objects
        assert obj.kind == "CronJob"
        assert obj.pod is not None and obj.pod.containers[0].image == "amazon/aws-cli"

    def test_unknown_image_and_unknown_pod_spec(self) -> None:
        ctx = ctx_of(
            deployment("kubernetes_deployment.a", container("a", Unknown("var.image"))),
            resource("kubernetes_pod.b", {"metadata": [{"name": "b"}],
                                          "spec": Unknown("known after apply")},
                     provider="kubernetes"))
        images = {u.resource.address: u.image for u in image_uses(ctx)}
        assert isinstance(images["kubernetes_deployment.a"], Unknown)
        assert isinstance(images["kubernetes_pod.b"], Unknown)

    def test_kubectl_multi_document_manifest(self) -> None:
        ctx = ctx_of(kubectl("kubectl_manifest.all", (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n"
            "---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: web}\n"
            "spec:\n  template:\n    spec:\n      serviceAccountName: app\n"
            "      containers:\n      - name: app\n        image: nginx\n"
            "        env:\n        - {name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}\n"
        )))
        found = workloads(ctx)
        assert [(o.kind, o.label) for o in found.objects] == [
            ("ServiceAccount", "ServiceAccount default/app (document 1)"),
            ("Deployment", "Deployment web/app (document 2)"),
        ]
        deploy = found.objects[1]
        assert deploy.pod is not None
        assert deploy.pod.containers[0].env == {"AWS_STS_REGIONAL_ENDPOINTS": "regional"}

    def test_kubernetes_manifest_object(self) -> None:
        ctx = ctx_of(resource("kubernetes_manifest.ingress", {"manifest": {
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "web",
                         "annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}},
            "spec": {"ingressClassName": "alb", "tls": [{"hosts": ["web.example.com"]}],
                     "rules": [{"host": "web.example.com"}]},
        }}, provider="kubernetes"))
        (obj,) = workloads(ctx).objects
        assert (obj.kind, obj.ingress_class, obj.tls_hosts) == (
            "Ingress", "alb", ("web.example.com",))

    def test_unreadable_manifest_is_a_problem_not_a_crash(self) -> None:
        ctx = ctx_of(kubectl("kubectl_manifest.bad", "kind: [\n"),
                     kubectl("kubectl_manifest.later", Unknown("templatefile: var.x")))
        found = workloads(ctx)
        assert found.objects == ()
        assert found.problems["kubectl_manifest.bad"][0].startswith(
            "yaml_body could not be read: invalid YAML")
        assert found.problems["kubectl_manifest.later"] == (
            "yaml_body is not known (templatefile: var.x)",)

    def test_helm_values_and_sets_merge_in_helm_order(self) -> None:
        ctx = ctx_of(helm(
            "helm_release.ca", "cluster-autoscaler",
            values=["image:\n  tag: v1.28.0\nextraArgs:\n  v: 4\n",
                    "extraArgs:\n  skip-nodes-with-local-storage: false\n"],
            sets={"extraArgs.aws-use-static-instance-list": "true", "replicaCount": "2"},
            set_sensitive=[{"name": "awsSecretAccessKey", "value": Sensitive("s3cr3t"),
                            "type": None}],
        ))
        (release,) = workloads(ctx).releases
        assert release.chart == "cluster-autoscaler"
        assert release.value("extraArgs") == {
            "v": 4, "skip-nodes-with-local-storage": False,
            "aws-use-static-instance-list": True}
        assert release.value("replicaCount") == 2
        assert release.sensitive == frozenset({"awsSecretAccessKey"})
        assert "s3cr3t" not in repr(release.problems)

    def test_helm_unknown_values_are_problems(self) -> None:
        ctx = ctx_of(helm("helm_release.x", "metrics-server",
                          values=[Unknown("templatefile(...) with var.region")]))  # type: ignore[list-item]
        (release,) = workloads(ctx).releases
        assert release.problems == (
            "values[0] is not known (templatefile(...) with var.region)",)


class TestChartImages:
    def test_chart_default_when_not_overridden(self) -> None:
        ctx = ctx_of(helm("helm_release.ms", "metrics-server"))
        (release,) = workloads(ctx).releases
        (use,) = release_images(release)
        assert use.image == "registry.k8s.io/metrics-server/metrics-server"
        assert use.chart_default

    def test_override_replaces_the_default(self) -> None:
        ctx = ctx_of(helm("helm_release.ms", "metrics-server", sets={
            "image.repository": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/metrics-server"}))
        (release,) = workloads(ctx).releases
        (use,) = release_images(release)
        assert use.image == "111122223333.dkr.ecr.eu-west-1.amazonaws.com/metrics-server"
        assert not use.chart_default
        assert use.where == "value image.repository"

    @pytest.mark.parametrize(("version", "image"), [
        ("2.5.7", "amazon/aws-efs-csi-driver"),
        ("3.0.6", "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver"),
        (None, "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver"),
    ])
    def test_default_depends_on_the_chart_version(self, version: str | None,
                                                  image: str) -> None:
        extra = {"version": version} if version else {}
        ctx = ctx_of(helm("helm_release.efs", "aws-efs-csi-driver", **extra))
        (release,) = workloads(ctx).releases
        assert release_images(release)[0].image == image

    def test_registry_and_repository_split(self) -> None:
        ctx = ctx_of(helm("helm_release.redis", "redis", values=[
            "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2\n"]))
        (release,) = workloads(ctx).releases
        assert [u.image for u in release_images(release)] == ["docker.io/bitnami/redis"]


# -- endpoint needs ------------------------------------------------------------------------


def needs_of(ctx: ScanContext) -> list[tuple[str, str, str]]:
    return [(n.service, n.resource.address, n.reason) for n in workload_endpoint_needs(ctx)]


class TestEndpointNeeds:
    def test_every_feature(self) -> None:
        ctx = ctx_of(
            cluster(),
            helm("helm_release.cluster_autoscaler", "cluster-autoscaler",
                 repository="https://kubernetes.github.io/autoscaler"),
            helm("helm_release.lbc", "aws-load-balancer-controller",
                 repository="https://aws.github.io/eks-charts"),
            resource("aws_eks_addon.pod_identity", {"addon_name": "eks-pod-identity-agent",
                                                    "cluster_name": "main"}),
            resource("aws_eks_addon.observability",
                     {"addon_name": "amazon-cloudwatch-observability", "cluster_name": "main"}),
            resource("aws_eks_addon.efs", {"addon_name": "aws-efs-csi-driver",
                                           "cluster_name": "main"}),
            resource("aws_eks_addon.vpc_cni", {"addon_name": "vpc-cni", "cluster_name": "main"}),
            service_account("kubernetes_service_account_v1.app", "app", "apps", {
                "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app"}),
            service_account("kubernetes_service_account_v1.plain", "plain"),
            resource("kubernetes_service_v1.web", {"metadata": [{"name": "web"}],
                                                   "spec": [{"type": "LoadBalancer"}]},
                     provider="kubernetes"),
            resource("kubernetes_service_v1.internal", {"metadata": [{"name": "internal"}],
                                                        "spec": [{"type": "ClusterIP"}]},
                     provider="kubernetes"),
            resource("kubernetes_ingress_v1.web", {
                "metadata": [{"name": "web", "namespace": "web"}],
                "spec": [{"ingress_class_name": "alb", "rule": [{"host": "a.example.com"}]}]},
                provider="kubernetes"),
            deployment("kubernetes_daemon_set_v1.xray",
                       container("xray", "public.ecr.aws/xray/aws-xray-daemon:3.3.7")),
            helm("helm_release.fluent_bit", "aws-for-fluent-bit"),
        )
        assert needs_of(ctx) == [
            ("autoscaling", "helm_release.cluster_autoscaler", "Cluster Autoscaler"),
            ("eks-auth", "aws_eks_addon.pod_identity", "EKS Pod Identity agent"),
            ("elasticfilesystem", "aws_eks_addon.efs", "EFS CSI driver"),
            ("elasticloadbalancing", "helm_release.lbc", "AWS Load Balancer Controller"),
            ("elasticloadbalancing", "kubernetes_ingress_v1.web",
             "Ingress web/web of class alb"),
            ("elasticloadbalancing", "kubernetes_service_v1.web",
             "Service default/web of type LoadBalancer"),
            ("logs", "aws_eks_addon.observability",
             "CloudWatch Observability (Container Insights, logs from the nodes)"),
            ("logs", "helm_release.fluent_bit", "Fluent Bit shipping logs to CloudWatch"),
            ("sts", "helm_release.cluster_autoscaler",
             "Cluster Autoscaler (IAM role for its service account)"),
            ("sts", "kubernetes_service_account_v1.app",
             "IAM roles for service accounts (ServiceAccount apps/app is annotated "
             "eks.amazonaws.com/role-arn)"),
            ("xray", "kubernetes_daemon_set_v1.xray", "X-Ray daemon"),
        ]

    def test_addon_belongs_to_the_cluster_it_names(self) -> None:
        ctx = ctx_of(
            cluster("a"), cluster("b"),
            resource("aws_eks_addon.pia", {"addon_name": "eks-pod-identity-agent",
                                           "cluster_name": "b"}),
        )
        (need,) = endpoint_needs(ctx)
        assert need.clusters == ("aws_eks_cluster.b",)

    def test_addon_by_reference(self) -> None:
        ctx = ctx_of(
            cluster("a"), cluster("b"),
            resource("aws_eks_addon.pia", {"addon_name": "eks-pod-identity-agent",
                                           "cluster_name": Unknown("after apply")}),
            edges=[("aws_eks_addon.pia", "cluster_name", "aws_eks_cluster.a")],
        )
        (need,) = endpoint_needs(ctx)
        assert need.clusters == ("aws_eks_cluster.a",)

    def test_workload_without_provider_information_belongs_to_every_cluster(self) -> None:
        ctx = ctx_of(cluster("a"), service_account(
            "kubernetes_service_account.x", "x", annotations={
                "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/x"}))
        (need,) = endpoint_needs(ctx)
        assert need.clusters is None

    def test_fluent_bit_not_shipping_to_cloudwatch_needs_nothing(self) -> None:
        ctx = ctx_of(helm("helm_release.fb", "fluent-bit", repository="https://fluent.github.io"
                          "/helm-charts", values=["config:\n  outputs: |\n    [OUTPUT]\n"
                                                  "        Name es\n"]),
                     helm("helm_release.fb_cw", "fluent-bit", values=[
                         "config:\n  outputs: |\n    [OUTPUT]\n        Name cloudwatch_logs\n"]))
        assert needs_of(ctx) == [
            ("logs", "helm_release.fb_cw", "Fluent Bit shipping logs to CloudWatch")]

    def test_role_annotation_in_helm_values(self) -> None:
        ctx = ctx_of(helm("helm_release.app", "my-app", values=[
            "serviceAccount:\n  annotations:\n"
            "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app\n"]))
        assert needs_of(ctx) == [
            ("sts", "helm_release.app", "IAM roles for service accounts "
             "(eks.amazonaws.com/role-arn in the chart's values)")]

    def test_adot_collector_and_fluentd(self) -> None:
        ctx = ctx_of(kubectl("kubectl_manifest.otel", (
            "apiVersion: opentelemetry.io/v1alpha1\nkind: OpenTelemetryCollector\n"
            "metadata: {name: adot, namespace: observability}\n"
            "spec:\n  config: |\n    exporters:\n      awsxray:\n        region: eu-west-1\n"
            "    service:\n      pipelines:\n        traces: {exporters: [awsxray]}\n")),
            deployment("kubernetes_daemon_set_v1.fluentd", container(
                "fluentd", "fluent/fluentd-kubernetes-daemonset:v1.16-debian-cloudwatch-1")))
        assert needs_of(ctx) == [
            ("logs", "kubernetes_daemon_set_v1.fluentd", "Fluentd shipping logs to CloudWatch"),
            ("xray", "kubectl_manifest.otel",
             "OpenTelemetryCollector observability/adot exporting traces to X-Ray (ADOT)"),
        ]

    def test_load_balancer_service_in_chart_values(self) -> None:
        ctx = ctx_of(helm("helm_release.ingress_nginx", "ingress-nginx", values=[
            "controller:\n  service:\n    type: LoadBalancer\n"]),
            helm("helm_release.internal", "ingress-nginx", values=[
                "controller:\n  service:\n    type: ClusterIP\n"]))
        assert needs_of(ctx) == [("elasticloadbalancing", "helm_release.ingress_nginx",
                                  "Service of type LoadBalancer (chart values)")]

    def test_cluster_autoscaler_container(self) -> None:
        ctx = ctx_of(deployment("kubernetes_deployment.ca", container(
            "ca", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/cluster-autoscaler:v1.29.0",
            command=["./cluster-autoscaler", "--cloud-provider=aws"])))
        assert [n[0] for n in needs_of(ctx)] == ["autoscaling", "sts"]


class TestClusters:
    def test_provider_references_tie_workloads_to_a_cluster(self) -> None:
        provider = ProviderConfig(key="kubernetes", name="kubernetes")
        msgspec.structs.force_setattr(provider, "references", {
            "host": ["data.aws_eks_cluster.b.endpoint", "data.aws_eks_cluster.b"],
            "token": ["data.aws_eks_cluster_auth.b.token", "data.aws_eks_cluster_auth.b"]})
        data_b = resource("data.aws_eks_cluster.b", {"name": "b"})
        ctx = ctx_of(cluster("a"), cluster("b"), data_b,
                     service_account("kubernetes_service_account.x", "x"),
                     edges=[("data.aws_eks_cluster.b", "name", "aws_eks_cluster.b")],
                     providers=[provider])
        sa = ctx.graph.get("kubernetes_service_account.x")
        assert sa is not None
        assert clusters_of_workload(ctx, sa) == ("aws_eks_cluster.b",)
        assert [r.region for r in regions_of(ctx, sa)] == ["eu-west-1"]

    def test_provider_reference_to_a_module_output(self) -> None:
        provider = ProviderConfig(key="helm", name="helm",
                                  references=("module.eks.cluster_endpoint", "module.eks"))
        ctx = ctx_of(cluster("a"), cluster("b", "module.eks.aws_eks_cluster.this[0]"),
                     helm("helm_release.x", "metrics-server"), providers=[provider])
        release = ctx.graph.get("helm_release.x")
        assert release is not None
        assert clusters_of_workload(ctx, release) == ("module.eks.aws_eks_cluster.this[0]",)

    def test_unknown_provider_values_carry_references(self) -> None:
        provider = ProviderConfig(key="kubernetes", name="kubernetes")
        msgspec.structs.force_setattr(provider, "values", {
            "host": Unknown("aws_eks_cluster.a.endpoint is known only after apply",
                            ("aws_eks_cluster.a",))})
        ctx = ctx_of(cluster("a"), cluster("b"), service_account("kubernetes_service_account.x",
                                                                 "x"), providers=[provider])
        sa = ctx.graph.get("kubernetes_service_account.x")
        assert sa is not None
        assert clusters_of_workload(ctx, sa) == ("aws_eks_cluster.a",)

    def test_external_cluster_by_data_source_name(self) -> None:
        provider = ProviderConfig(key="kubernetes", name="kubernetes",
                                  references=("data.aws_eks_cluster.other.endpoint",))
        ctx = ctx_of(cluster("a"), resource("data.aws_eks_cluster.other", {"name": "other"}),
                     service_account("kubernetes_service_account.x", "x"),
                     providers=[provider])
        sa = ctx.graph.get("kubernetes_service_account.x")
        assert sa is not None
        assert clusters_of_workload(ctx, sa) == ()

    def test_region_from_aws_provider_without_cluster(self) -> None:
        ctx = ctx_of(service_account("kubernetes_service_account.x", "x"),
                     providers=[ProviderConfig(key="aws", region="ap-southeast-2")])
        sa = ctx.graph.get("kubernetes_service_account.x")
        assert sa is not None
        (region,) = regions_of(ctx, sa)
        assert (region.region, region.source) == ("ap-southeast-2", "provider aws")

    def test_region_unknown_without_cluster_or_provider(self) -> None:
        ctx = ctx_of(service_account("kubernetes_service_account.x", "x"))
        sa = ctx.graph.get("kubernetes_service_account.x")
        assert sa is not None
        (region,) = regions_of(ctx, sa)
        assert isinstance(region.region, Unknown)


# -- fixtures/workloads: HCL and hand-written plans give the expected findings -------------

WORKLOAD_RULES = {"PC601", "PC602", "PC603", "PC604", "PC605", "PC606", "PC607", "PC701"}
_WORKLOAD_CASES = sorted(
    (REPO / "fixtures" / "workloads").glob("*/expect.txt"), key=lambda p: p.parent.name)


@pytest.mark.parametrize("case", [p.parent for p in _WORKLOAD_CASES], ids=lambda p: p.name)
def test_workload_fixture_hcl(case: Any) -> None:
    from tfcheck.engine import scan

    from .expectations import check, read_expectations

    check(scan([str(case)]), read_expectations(case, "hcl"), WORKLOAD_RULES)


@pytest.mark.parametrize("case", [p.parent for p in _WORKLOAD_CASES
                                  if (p.parent / "plan.json").is_file()], ids=lambda p: p.name)
def test_workload_fixture_hand_written_plan(case: Any) -> None:
    import json

    from tfcheck.engine import scan

    from .expectations import check, read_expectations

    plan = json.loads((case / "plan.json").read_text(encoding="utf-8"))
    assert plan["//"].startswith("hand-written"), "plans here are hand-written: mark them"
    check(scan([str(case / "plan.json")]), read_expectations(case, "plan"), WORKLOAD_RULES)


def test_sensitive_yaml_body_prefers_yaml_body_parsed_or_hides_images() -> None:
    body = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
            "  - name: c\n    image: acme/private:1\n")
    ctx = ctx_of(resource("kubectl_manifest.p", {"yaml_body": Sensitive(body),
                                                 "yaml_body_parsed": body}, provider="kubectl"),
                 resource("kubectl_manifest.q", {"yaml_body": Sensitive(body)},
                          provider="kubectl"))
    shown = {u.resource.address: u.shown for u in image_uses(ctx)}
    assert shown == {"kubectl_manifest.p": "acme/private:1",
                     "kubectl_manifest.q": "(sensitive value)"}


# -- robustness: Unknown and Sensitive anywhere never crash a policy ------------------------


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))] + (
            [path] if path else [])
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))] + (
            [path] if path else [])
    return [path]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    import copy

    copied = copy.deepcopy(value)
    node = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copied


@pytest.mark.parametrize("wrap", ["unknown", "sensitive"])
def test_unknown_or_sensitive_anywhere_never_crashes(wrap: str) -> None:
    from tfcheck.loaders.hcl import load_hcl
    from tfcheck_policies import ALL_POLICIES

    mine = [p for p in ALL_POLICIES if p.id.startswith(("PC5", "PC6", "PC7"))]
    base = load_hcl(REPO / "fixtures" / "workloads" / "good-workloads").graph
    for subject in base.resources():
        for path in _leaf_paths(subject.values):
            original = subject.values
            leaf: Any = original
            for key in path:
                leaf = leaf[key]
            new = Unknown("test") if wrap == "unknown" else Sensitive(leaf)
            subject.values = _replaced(original, path, new)
            try:
                for policy in mine:
                    list(policy.check(ScanContext(base)))
            finally:
                subject.values = original
