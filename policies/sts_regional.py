"""PC605: pods with IAM roles for service accounts call the regional STS endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tfcheck.facts.hcl_snippets import Comment, attributes, block, render
from tfcheck.model import Severity, Unknown, reveal
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import (
    ROLE_ARN_ANNOTATION,
    STS_REGIONAL_ANNOTATION,
    HelmRelease,
    KubeObject,
    Workloads,
    release_images,
    truthy,
    walk_values,
    workloads,
)

from .support import (
    STS_GUIDE,
)

STS_ENV = "AWS_STS_REGIONAL_ENDPOINTS"
IRSA_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@policy(
    id="PC605",
    slug="sts-regional",
    severity=Severity.MEDIUM,
    title="Pods with IAM roles for service accounts use the regional STS endpoint",
    docs_url=STS_GUIDE,
)
def sts_regional(ctx: ScanContext) -> Iterator[Result]:
    """Pods using IAM roles for service accounts must call STS through its regional endpoint.

    ## Why
    The EKS user guide, "Private cluster requirements" (older version): "Pods configured
    with IAM roles for service accounts acquire credentials from an AWS Security Token
    Service (AWS STS) API call. ... Most AWS v1 SDKs use the global AWS STS endpoint by
    default ..., which doesn't use the AWS STS VPC endpoint. To use the AWS STS VPC
    endpoint, you may need to configure the SDK to use the regional AWS STS endpoint
    ... by setting the AWS_STS_REGIONAL_ENDPOINTS environment variable with a value of
    regional, along with the AWS Region."

    A workload uses IAM roles for service accounts when its pods run as a service
    account annotated `eks.amazonaws.com/role-arn` (in the input, same namespace), set
    `AWS_ROLE_ARN` / `AWS_WEB_IDENTITY_TOKEN_FILE`, or — for a Helm release — its values
    annotate a service account with a role (or name a role-annotated service account
    of the input). It passes when every container (init containers aside) sets
    `AWS_STS_REGIONAL_ENDPOINTS=regional`, or the service account carries
    `eks.amazonaws.com/sts-regional-endpoints: "true"` (the pod identity webhook then
    injects the variable). For Helm values, either form anywhere in the values counts
    (`env`, `extraEnv`, `{name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}`).
    Containers whose image is listed in `sts_regional_images` (SDKs that default to the
    regional endpoint) are exempt. `AWS_REGION` is recommended in the message, not
    required.

    ## Bad
    ```hcl
    resource "kubernetes_service_account_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
        annotations = {
          "eks.amazonaws.com/role-arn" = "arn:aws:iam::111122223333:role/orders"
        }
      }
    }

    resource "kubernetes_deployment_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
      }
      spec {
        selector {
          match_labels = { app = "orders" }
        }
        template {
          metadata {
            labels = { app = "orders" }
          }
          spec {
            service_account_name = kubernetes_service_account_v1.orders.metadata[0].name
            container {
              name  = "orders"
              image = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders:1.4.2"
            }
          }
        }
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "kubernetes_service_account_v1" "orders" {
      metadata {
        name      = "orders"
        namespace = "shop"
        annotations = {
          "eks.amazonaws.com/role-arn"               = "arn:aws:iam::111122223333:role/orders"
          "eks.amazonaws.com/sts-regional-endpoints" = "true"
        }
      }
    }
    ```

    ## Remediation
    Add `env { name = "AWS_STS_REGIONAL_ENDPOINTS" value = "regional" }` (and
    `AWS_REGION`) to the containers, or annotate the service account with
    `eks.amazonaws.com/sts-regional-endpoints = "true"`.
    """
    found = workloads(ctx)
    accounts = _role_accounts(found)
    exempt = ctx.config.sts_regional_images
    for obj in found.pods():
        yield from _sts_pod(obj, accounts, exempt, _unknown_accounts(found))
    for release in found.releases:
        yield from _sts_release(release, accounts, exempt)


def _role_accounts(found: Workloads) -> dict[tuple[str, str], KubeObject]:
    """Role-annotated service accounts by (namespace, name)."""
    accounts: dict[tuple[str, str], KubeObject] = {}
    for obj in found.of_kind("ServiceAccount"):
        role = reveal(obj.annotations.get(ROLE_ARN_ANNOTATION))
        if role is None or role == "":
            continue
        if isinstance(obj.name, str) and isinstance(obj.namespace, str):
            accounts[(obj.namespace, obj.name)] = obj
    return accounts


def _unknown_accounts(found: Workloads) -> dict[tuple[str, str], KubeObject]:
    """Service accounts whose whole annotations map is unknown: IRSA cannot be told."""
    return {(o.namespace, o.name): o for o in found.of_kind("ServiceAccount")
            if o.annotations_unknown is not None and isinstance(o.name, str)
            and isinstance(o.namespace, str)}


def _regional_annotation(annotations: Mapping[str, Any]) -> bool:
    return truthy(annotations.get(STS_REGIONAL_ANNOTATION)) is True


def _sts_pod(obj: KubeObject, accounts: Mapping[tuple[str, str], KubeObject],
             exempt: tuple[str, ...],
             unknown_accounts: Mapping[tuple[str, str], KubeObject]) -> Iterator[Result]:
    pod = obj.pod
    assert pod is not None
    account_name = pod.service_account if isinstance(pod.service_account, str) else (
        "default" if pod.service_account is None else None)
    namespace = obj.namespace if isinstance(obj.namespace, str) else None
    account = accounts.get((namespace or "", account_name or ""))
    containers = [c for c in pod.containers if not c.init]
    direct = any(name in c.env for c in containers for name in IRSA_ENV)
    if account is None and not direct:
        maybe = unknown_accounts.get((namespace or "", account_name or ""))
        if maybe is not None and maybe.annotations_unknown is not None and not all(
            STS_ENV in c.env for c in containers
        ):
            yield Result.unknown(
                obj.resource, f"{obj.resource.address}: {obj.label} runs as "
                f"{maybe.label.split(' ', 1)[1]}, whose annotations are not known "
                f"({maybe.annotations_unknown.reason}): cannot tell whether it uses IAM "
                f"roles for service accounts", evidence=[obj.resource.address,
                                                         maybe.resource.address])
        return
    how = (f"service account {account.label.split(' ', 1)[1]} ({account.resource.address}) "
           f"annotated {ROLE_ARN_ANNOTATION}" if account is not None
           else "AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE")
    evidence = [obj.resource.address] + ([account.resource.address]
                                         if account is not None else [])
    where = f"{obj.resource.address}: {obj.label}"
    data: dict[str, Any] = {"service_account": account.resource.address if account else None}
    if account is not None and _regional_annotation(account.annotations):
        yield Result.passed(obj.resource, f"{where} uses {how}, which also carries "
                            f"{STS_REGIONAL_ANNOTATION}: \"true\"", evidence=evidence, data=data)
        return
    missing: list[str] = []
    unknown: list[str] = []
    no_region: list[str] = []
    for container in containers:
        if isinstance(container.image, str) and any(
            container.image.startswith(prefix) for prefix in exempt
        ):
            continue
        value = reveal(container.env.get(STS_ENV))
        if isinstance(value, Unknown) or (container.env.get(STS_ENV) is None
                                          and STS_ENV in container.env):
            unknown.append(container.describe())
        elif not (isinstance(value, str) and value.strip().lower() == "regional"):
            missing.append(container.describe())
        if "AWS_REGION" not in container.env and "AWS_DEFAULT_REGION" not in container.env:
            no_region.append(container.describe())
    data["containers"] = missing
    if missing:
        yield Result.fail(
            obj.resource,
            f"{where} uses {how}, but {', '.join(missing)} do not set {STS_ENV}=regional: "
            f"older AWS SDKs call the global STS endpoint (sts.amazonaws.com), which no VPC "
            f"endpoint serves"
            + ("; also set AWS_REGION" if no_region else ""),
            remediation=render(block("env", body=attributes(name=STS_ENV, value="regional")),
                               block("env", body=attributes(name="AWS_REGION", value="<region>"))),
            evidence=evidence, data=data)
    elif unknown:
        yield Result.unknown(obj.resource, f"{where} uses {how}; {STS_ENV} of "
                             f"{', '.join(unknown)} is not known", evidence=evidence, data=data)
    else:
        yield Result.passed(obj.resource, f"{where} uses {how} and sets {STS_ENV}=regional"
                            + (" (AWS_REGION is recommended too)" if no_region else ""),
                            evidence=evidence, data=data)


def _sts_release(release: HelmRelease, accounts: Mapping[tuple[str, str], KubeObject],
                 exempt: tuple[str, ...]) -> Iterator[Result]:
    annotated: list[str] = []
    regional_annotation = False
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if path.lower().endswith("annotations") and isinstance(plain, dict):
            role = reveal(plain.get(ROLE_ARN_ANNOTATION))
            if role is not None and role != "":
                annotated.append(path)
                regional_annotation = regional_annotation or _regional_annotation(plain)
    used = _release_uses_accounts(release, accounts)
    if not annotated and not used:
        return
    regional_annotation = regional_annotation or any(
        _regional_annotation(a.annotations) for a in used)
    how = ", ".join([f"values {p}.{ROLE_ARN_ANNOTATION}" for p in annotated]
                    + [f"service account {a.resource.address}" for a in used])
    address = release.resource.address
    evidence = [address, *(a.resource.address for a in used)]
    data = {"chart": release.chart if isinstance(release.chart, str) else None}
    if regional_annotation:
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}) with {STS_REGIONAL_ANNOTATION}: \"true\"",
                            evidence=evidence, data=data)
    elif _values_set_regional(release.values):
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}) with {STS_ENV}=regional in the values",
                            evidence=evidence, data=data)
    elif exempt and (images := [u.image for u in release_images(release)]) and all(
        isinstance(i, str) and i.startswith(exempt) for i in images
    ):
        yield Result.passed(release.resource, f"{address}: IAM roles for service accounts "
                            f"({how}); its images are listed in sts_regional_images",
                            evidence=evidence, data=data)
    elif release.problems:
        yield Result.unknown(release.resource, f"{address}: IAM roles for service accounts "
                             f"({how}); {STS_ENV} not in the known values, and some values "
                             f"are not known ({'; '.join(release.problems)})",
                             evidence=evidence, data=data)
    else:
        yield Result.fail(
            release.resource,
            f"{address}: IAM roles for service accounts ({how}), but neither {STS_ENV}=regional "
            f"nor the {STS_REGIONAL_ANNOTATION} annotation: older AWS SDKs call the global "
            f"STS endpoint, which no VPC endpoint serves",
            remediation=_sts_release_remediation(annotated),
            evidence=evidence, data=data)


def _sts_release_remediation(annotated: list[str]) -> str:
    """A `set` block adding the regional-STS annotation next to the role annotation."""
    base = annotated[0] if annotated else "serviceAccount.annotations"
    escaped = STS_REGIONAL_ANNOTATION.replace(".", "\\.")  # helm reads `\.` as a dot in a key
    return render(block("set", body=attributes(name=f"{base}.{escaped}", value="true",
                                               type="string")),
                  Comment(f"or set {STS_ENV}=regional in the chart's env values"))


def _release_uses_accounts(release: HelmRelease,
                           accounts: Mapping[tuple[str, str], KubeObject]) -> list[KubeObject]:
    """Role-annotated service accounts of the input that a chart's values name."""
    if not isinstance(release.namespace, str):
        return []
    used: dict[str, KubeObject] = {}
    for path, value in walk_values(release.values):
        plain = reveal(value)
        if isinstance(plain, str) and re.search(r"(?i)serviceaccount(name)?(\.name)?$", path):
            account = accounts.get((release.namespace, plain))
            if account is not None:
                used[account.resource.address] = account
    return list(used.values())


def _values_set_regional(values: Mapping[str, Any]) -> bool:
    for _, value in walk_values(values):
        plain = reveal(value)
        if not isinstance(plain, dict):
            continue
        direct = reveal(plain.get(STS_ENV))
        if isinstance(direct, str) and direct.lower() == "regional":
            return True
        name, setting = reveal(plain.get("name")), reveal(plain.get("value"))
        if name == STS_ENV and isinstance(setting, str) and setting.lower() == "regional":
            return True
        # the EFS CSI chart's switch for the same variable
        if truthy(plain.get("regionalStsEndpoints")) is True:
            return True
    return False


POLICIES = (sts_regional,)
