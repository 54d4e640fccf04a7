"""PC603 lb-controller-flags: Shield/WAF off, no ACM certificate discovery."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.lb_controller_flags import lb_controller_flags

from ..workload_builders import (
    cluster,
    container,
    deployment,
    graph_of,
    helm,
    only,
    resource,
    run,
    verdicts,
)

LBC_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/eks/aws-load-balancer-controller:v2.7.1"


def results_for(*resources):  # type: ignore[no-untyped-def]
    return run(lb_controller_flags, graph_of(cluster("main"), *resources))


def ingress(address: str, *, cls: str | None = "alb", annotations: dict | None = None,  # type: ignore[type-arg]
            tls_hosts: list[str] | None = None, rule_host: str = "shop.example.com"):  # type: ignore[no-untyped-def]
    spec: dict = {"rule": [{"host": rule_host}]}  # type: ignore[type-arg]
    if cls is not None:
        spec["ingress_class_name"] = cls
    if tls_hosts is not None:
        spec["tls"] = [{"hosts": tls_hosts, "secret_name": None}]
    return resource(address, {"metadata": [{"name": "shop", "namespace": "shop",
                                            "annotations": annotations or {}}],
                              "spec": [spec]}, provider="kubernetes")


class TestHelm:
    def test_all_false_passes(self) -> None:
        (result,) = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", values=[
            "clusterName: main\nenableShield: false\nenableWaf: false\nenableWafv2: false\n"]))
        assert result.status is Status.PASS

    def test_set_blocks_false_pass(self) -> None:
        (result,) = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", sets={
            "enableShield": "false", "enableWaf": "false", "enableWafv2": "false"}))
        assert result.status is Status.PASS

    def test_unset_values_fail_with_controller_default(self) -> None:
        (result,) = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", sets={
            "enableShield": "false"}))
        assert result.status is Status.FAIL
        assert "enableWaf is not set (controller default true); enableWafv2 is not set " \
               "(controller default true)" in result.message
        assert "enableWafv2  = false" in result.remediation

    def test_true_fails(self) -> None:
        (result,) = results_for(helm("helm_release.lbc", "aws-load-balancer-controller", values=[
            "enableShield: true\nenableWaf: false\nenableWafv2: false\n"]))
        assert result.status is Status.FAIL
        assert "enableShield is True" in result.message

    def test_unknown(self) -> None:
        release = helm("helm_release.lbc", "aws-load-balancer-controller", sets={
            "enableShield": "false", "enableWaf": "false"})
        release.values["set"].append({"name": "enableWafv2", "value": Unknown("var.waf"),
                                      "type": None})
        (result,) = results_for(release)
        assert result.status is Status.UNKNOWN
        assert "enableWafv2 (var.waf)" in result.message


class TestContainer:
    def test_flags_false_pass(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.lbc", container(
            "controller", LBC_IMAGE, args=["--cluster-name=main", "--enable-shield=false",
                                           "--enable-waf=false", "--enable-wafv2=false"])))
        assert result.status is Status.PASS

    def test_missing_flags_fail(self) -> None:
        (result,) = results_for(deployment("kubernetes_deployment_v1.lbc", container(
            "controller", LBC_IMAGE, args=["--cluster-name=main", "--enable-shield=false"])))
        assert result.status is Status.FAIL
        assert "--enable-waf is not set (default true); --enable-wafv2 is not set" in \
            result.message


class TestIngress:
    def test_tls_hosts_without_certificate_arn_fail(self) -> None:
        (result,) = results_for(ingress("kubernetes_ingress_v1.shop",
                                        tls_hosts=["shop.example.com"]))
        assert result.status is Status.FAIL
        assert result.data == {"annotation": "alb.ingress.kubernetes.io/certificate-arn",
                               "hosts": ["shop.example.com"]}
        assert "ACM has no VPC endpoint" in result.message

    def test_certificate_arn_passes(self) -> None:
        (result,) = results_for(ingress("kubernetes_ingress_v1.shop", tls_hosts=[
            "shop.example.com"], annotations={
                "alb.ingress.kubernetes.io/certificate-arn":
                    "arn:aws:acm:eu-west-1:111122223333:certificate/abc"}))
        assert result.status is Status.PASS

    def test_https_listener_with_rule_hosts_fails(self) -> None:
        (result,) = results_for(ingress("kubernetes_ingress_v1.shop", annotations={
            "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]'}))
        assert result.status is Status.FAIL
        assert result.data["hosts"] == ["shop.example.com"]

    def test_http_only_passes(self) -> None:
        (result,) = results_for(ingress("kubernetes_ingress_v1.shop"))
        assert result.status is Status.PASS

    def test_other_ingress_classes_are_not_checked(self) -> None:
        assert results_for(ingress("kubernetes_ingress_v1.shop", cls="nginx",
                                   tls_hosts=["shop.example.com"])) == []

    def test_legacy_class_annotation(self) -> None:
        (result,) = results_for(ingress("kubernetes_ingress.shop", cls=None, tls_hosts=[
            "shop.example.com"], annotations={"kubernetes.io/ingress.class": "alb"}))
        assert result.status is Status.FAIL

    def test_ingress_class_resource_of_the_controller(self) -> None:
        ingress_class = resource("kubernetes_ingress_class_v1.internal", {
            "metadata": [{"name": "internal-alb"}],
            "spec": [{"controller": "ingress.k8s.aws/alb"}]}, provider="kubernetes")
        results = results_for(ingress_class, ingress("kubernetes_ingress_v1.shop",
                                                     cls="internal-alb", tls_hosts=["a.b.c"]))
        assert verdicts(results) == [("fail", "kubernetes_ingress_v1.shop")]

    def test_chart_values_ingress(self) -> None:
        results = results_for(helm("helm_release.shop", "shop", values=[
            "ingress:\n  enabled: true\n  className: alb\n  hosts:\n  - host: shop.example.com\n"
            "  tls:\n  - hosts: [shop.example.com]\n"]))
        result = only(results, "helm_release.shop")
        assert result.status is Status.FAIL
        assert "chart value ingress (Ingress of class alb)" in result.message
