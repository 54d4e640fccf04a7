"""PC603: the AWS Load Balancer Controller calls neither Shield, WAF nor ACM."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tfcheck.facts.hcl_snippets import (
    Attribute,
    Call,
    Comment,
    ListOf,
    Literal,
    ObjectOf,
    Reference,
    render,
)
from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    Container,
    HelmRelease,
    KubeObject,
    blocks,
    component_of_container,
    flag_value,
    is_alb_ingress,
    release_component,
    truthy,
    walk_values,
    workloads,
)

from .support import (
    KEEP_OTHER_ARGUMENTS,
    PRIVATE_CLUSTERS_GUIDE,
)

CERTIFICATE_ARN = "alb.ingress.kubernetes.io/certificate-arn"
LISTEN_PORTS = "alb.ingress.kubernetes.io/listen-ports"

LBC_FLAGS = (("enableShield", "enable-shield"), ("enableWaf", "enable-waf"),
             ("enableWafv2", "enable-wafv2"))


@policy(
    id="PC603",
    slug="lb-controller-flags",
    severity=Severity.MEDIUM,
    title="AWS Load Balancer Controller does not call Shield, WAF or ACM",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def lb_controller_flags(ctx: ScanContext) -> Iterator[Result]:
    """The AWS Load Balancer Controller must not call AWS APIs that have no VPC endpoint.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Installing
    the AWS Load Balancer Controller add-on is supported. However, while installing,
    you should use command line flags to set enable-shield, enable-waf, and
    enable-wafv2 to false. In addition, certificate discovery with hostnames from the
    Ingress objects isn't supported. This is because the controller needs to reach ACM,
    which doesn't have a VPC endpoint."

    Checked: the `aws-load-balancer-controller` Helm chart (values `enableShield`,
    `enableWaf`, `enableWafv2` must all be `false`; the chart passes no flag when they
    are unset, and the controller's defaults are `true`), any container running the
    controller (`--enable-shield=false`, `--enable-waf=false`, `--enable-wafv2=false`),
    and every Ingress the controller serves (class `alb`, or an IngressClass of
    controller `ingress.k8s.aws/alb`): one with TLS hosts, or an HTTPS listener and
    rule hosts, but no `alb.ingress.kubernetes.io/certificate-arn` annotation fails,
    because the controller would discover the certificate in ACM by host name.
    Ingresses rendered by a chart's values (`ingress.className: alb`) count too.

    ## Bad
    ```hcl
    resource "helm_release" "aws_load_balancer_controller" {
      name       = "aws-load-balancer-controller"
      repository = "https://aws.github.io/eks-charts"
      chart      = "aws-load-balancer-controller"
      namespace  = "kube-system"

      set {
        name  = "clusterName"
        value = aws_eks_cluster.main.name
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "helm_release" "aws_load_balancer_controller" {
      values = [yamlencode({
        enableShield = false
        enableWaf    = false
        enableWafv2  = false
      })]
    }
    ```

    ## Remediation
    Helm: `enableShield = false`, `enableWaf = false`, `enableWafv2 = false`; a
    container: `--enable-shield=false --enable-waf=false --enable-wafv2=false`; an
    Ingress: set `alb.ingress.kubernetes.io/certificate-arn` to the ACM certificate.
    """
    found = workloads(ctx)
    for release in found.releases:
        if release_component(release) == "aws-load-balancer-controller":
            yield _lbc_release(release)
        else:
            yield from _release_ingresses(release)
    for obj in found.pods():
        assert obj.pod is not None
        for container in obj.pod.containers:
            if not container.init and component_of_container(
                container
            ) == "aws-load-balancer-controller":
                yield _lbc_container(obj, container)
    for obj in found.of_kind("Ingress"):
        if is_alb_ingress(obj, found):
            yield _ingress_certificates(obj.resource, obj.label, obj.annotations,
                                        obj.tls_hosts, obj.rule_hosts)


def _lbc_release(release: HelmRelease) -> Result:
    address = release.resource.address
    wrong: list[str] = []
    unknown: list[str] = []
    for value_name, _ in LBC_FLAGS:
        value = release.value(value_name)
        if isinstance(value, Unknown):
            unknown.append(f"{value_name} ({value.reason})")
        elif truthy(value) is False:
            continue
        elif value is None and release.problems:
            unknown.append(f"{value_name} (values not known: {'; '.join(release.problems)})")
        elif value is None:
            wrong.append(f"{value_name} is not set (controller default true)")
        else:
            wrong.append(f"{value_name} is {release.shown(value_name, value)}")
    data = {"values": [n for n, _ in LBC_FLAGS]}
    if wrong:
        return Result.fail(
            release.resource,
            f"{address}: AWS Load Balancer Controller {'; '.join(wrong)}: the controller calls "
            f"Shield / WAF, which have no VPC endpoint",
            remediation=render(Attribute("values", ListOf((Call("yamlencode", (ObjectOf(tuple(
                (name, Literal(False)) for name in ("enableShield", "enableWaf", "enableWafv2"))),
            )),)))),
            data=data)
    if unknown:
        return Result.unknown(release.resource, f"{address}: not known: {', '.join(unknown)}",
                              data=data)
    return Result.passed(release.resource, f"{address}: AWS Load Balancer Controller runs with "
                         f"enableShield, enableWaf and enableWafv2 false", data=data)


def _lbc_container(obj: KubeObject, container: Container) -> Result:
    where = f"{obj.resource.address}: {obj.label} {container.describe()}"
    wrong: list[str] = []
    unknown: list[str] = []
    for _, flag in LBC_FLAGS:
        value = flag_value(container.argv, flag)
        if isinstance(value, Unknown):
            unknown.append(f"--{flag} ({value.reason})")
        elif value is True or value is None:
            wrong.append(f"--{flag} is {'not set (default true)' if value is None else 'true'}")
        elif truthy(value) is not False:
            wrong.append(f"--{flag}={value}")
    data = {"flags": [f"--{f}" for _, f in LBC_FLAGS], "container": container.name}
    if wrong:
        return Result.fail(
            obj.resource, f"{where}: {'; '.join(wrong)}: the controller calls Shield / WAF, "
            f"which have no VPC endpoint",
            remediation=render(Comment(KEEP_OTHER_ARGUMENTS), Attribute("args", ListOf(tuple(
                Literal(f"--{flag}=false") for _, flag in LBC_FLAGS)))), data=data)
    if unknown:
        return Result.unknown(obj.resource, f"{where}: not known: {', '.join(unknown)}",
                              data=data)
    return Result.passed(obj.resource, f"{where} runs with --enable-shield=false, "
                         f"--enable-waf=false, --enable-wafv2=false", data=data)


def _ingress_certificates(resource: Resource, label: str, annotations: Mapping[str, Any],
                          tls_hosts: tuple[str | Unknown, ...],
                          rule_hosts: tuple[str | Unknown, ...]) -> Result:
    where = f"{resource.address}: {label}"
    certificate = reveal(annotations.get(CERTIFICATE_ARN))
    data: dict[str, Any] = {"annotation": CERTIFICATE_ARN}
    if isinstance(certificate, Unknown) or (isinstance(certificate, str) and certificate.strip()):
        return Result.passed(resource, f"{where} names its certificate in {CERTIFICATE_ARN}",
                             data=data)
    listen = reveal(annotations.get(LISTEN_PORTS))
    https = isinstance(listen, str) and "HTTPS" in listen.upper()
    hosts = [h for h in tls_hosts if isinstance(h, str)]
    if any(isinstance(h, Unknown) for h in tls_hosts) and not hosts:
        hosts = ["(unknown host)"]
    if not hosts and https:
        hosts = [h for h in rule_hosts if isinstance(h, str)]
    if hosts:
        data["hosts"] = hosts
        return Result.fail(
            resource,
            f"{where} has TLS for {', '.join(hosts)} but no {CERTIFICATE_ARN} annotation: the "
            f"controller would discover the certificate in ACM by host name, and ACM has no "
            f"VPC endpoint",
            remediation=render(Attribute("annotations", ObjectOf(
                ((CERTIFICATE_ARN, Reference("aws_acm_certificate.this.arn")),)))),
            data=data)
    return Result.passed(resource, f"{where} has no HTTPS listener that needs certificate "
                         f"discovery", data=data)


def _release_ingresses(release: HelmRelease) -> Iterator[Result]:
    """Ingresses a chart renders from `ingress`-like values of class alb."""
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if not isinstance(plain, dict) or not path.lower().endswith("ingress"):
            continue
        if truthy(plain.get("enabled")) is False:
            continue
        annotations = reveal(plain.get("annotations"))
        annotations = annotations if isinstance(annotations, dict) else {}
        cls = reveal(plain.get("className"))
        if cls is None:
            cls = reveal(plain.get("ingressClassName"))
        if cls is None:
            cls = reveal(annotations.get("kubernetes.io/ingress.class"))
        if cls != "alb":
            continue
        tls_hosts: list[str | Unknown] = []
        for entry in blocks(plain.get("tls")):
            entry = reveal(entry)
            if isinstance(entry, dict):
                tls_hosts.extend(h for h in blocks(entry.get("hosts"))
                                 if isinstance(h, (str, Unknown)))
        rule_hosts: list[str | Unknown] = []
        for entry in blocks(plain.get("hosts")):
            entry = reveal(entry)
            host = entry.get("host") if isinstance(entry, dict) else entry
            if isinstance(host, (str, Unknown)):
                rule_hosts.append(host)
        yield _ingress_certificates(release.resource, f"chart value {path} (Ingress of class "
                                    f"alb)", annotations, tuple(tls_hosts), tuple(rule_hosts))


POLICIES = (lb_controller_flags,)
