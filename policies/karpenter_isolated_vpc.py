"""PC607: Karpenter runs in isolated-VPC mode and its node classes name an instance profile."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import Comment, Reference, attributes, block, render
from tfcheck.model import Severity, Unknown
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.workloads import truthy
from tfcheck.workloads.karpenter import (
    ISOLATED_VPC,
    KarpenterInstall,
    NodeClass,
    Setting,
    karpenter_installs,
    node_classes,
)

from .support import cluster_evidence

KARPENTER_SETTINGS = "https://karpenter.sh/docs/reference/settings/"
# charts before v0.32 read the AWS settings from `settings.aws.*`
SETTINGS_AWS_BEFORE = (0, 32)


@policy(
    id="PC607",
    slug="karpenter-isolated-vpc",
    severity=Severity.MEDIUM,
    title="Karpenter runs in isolated-VPC mode and names instance profiles, not roles",
    docs_url=KARPENTER_SETTINGS,
)
def karpenter_isolated_vpc(ctx: ScanContext) -> Iterator[Result]:
    """Karpenter must not call AWS APIs that have no VPC endpoint: pricing and IAM.

    ## Why
    Karpenter's settings reference (karpenter.sh, "Settings") lists `ISOLATED_VPC`
    (`--isolated-vpc`, Helm `settings.isolatedVPC`): when true, Karpenter assumes it
    cannot reach AWS services that have no VPC endpoint, and stops calling the AWS
    Price List API for on-demand prices. That API has no VPC endpoint, so in a private
    cluster without it Karpenter's pricing calls time out. For an `EC2NodeClass` that
    names a `role`, Karpenter creates and manages the nodes' instance profile itself,
    through the IAM API, which has no VPC endpoint either; naming an existing
    `instanceProfile` avoids the call. The private-cluster guide (seed 004) says of every
    AWS service a workload calls:

    > Your cluster's VPC subnets must have a VPC interface endpoint for any AWS
    > services that your Pods need access to.

    Checked: the `karpenter` Helm chart (`settings.isolatedVPC`; charts before v0.32
    `settings.aws.isolatedVPC`; or `ISOLATED_VPC` / `AWS_ISOLATED_VPC` in
    `controller.env`), in `values` (also partly known ones) or `set` blocks; any
    container running Karpenter's controller (env `ISOLATED_VPC` / `AWS_ISOLATED_VPC`
    or the `--isolated-vpc` flag); and every `EC2NodeClass` manifest (`kubectl_manifest`,
    `kubernetes_manifest`): one with `spec.role` fails, one with `spec.instanceProfile`
    passes. PC301 requires the endpoints Karpenter does need: `ec2`, `ssm`, `sqs` with
    an interruption queue, `eks` without `settings.clusterEndpoint`.

    ## Bad
    ```hcl
    resource "helm_release" "karpenter" {
      name       = "karpenter"
      repository = "oci://public.ecr.aws/karpenter"
      chart      = "karpenter"
      version    = "1.1.1"
      namespace  = "kube-system"

      values = [yamlencode({
        settings = {
          clusterName       = "main"
          interruptionQueue = "karpenter-main"
        }
      })]
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "helm_release" "karpenter" {
      values = [yamlencode({
        settings = {
          clusterName       = "main"
          interruptionQueue = "karpenter-main"
          isolatedVPC       = true
        }
      })]
    }
    ```

    ## Remediation
    Helm: `set { name = "settings.isolatedVPC" value = "true" }` (before v0.32:
    `settings.aws.isolatedVPC`); a container: `ISOLATED_VPC=true`. In each
    `EC2NodeClass`, replace `role` by `instanceProfile`, the name of an
    `aws_iam_instance_profile` Terraform creates.
    """
    for install in karpenter_installs(ctx):
        yield _isolated_verdict(ctx, install)
    for node_class in node_classes(ctx):
        result = _node_class_verdict(ctx, node_class)
        if result is not None:
            yield result


def _isolated_verdict(ctx: ScanContext, install: KarpenterInstall) -> Result:
    address = install.resource.address
    setting = install.isolated_vpc
    spelling = setting if setting.source else _isolated_setting(install)
    where = spelling.where
    data = {"setting": spelling.name}
    evidence = [address, *cluster_evidence(ctx, install.resource)]
    if isinstance(setting.value, Unknown):
        return Result.unknown(install.resource, f"{address}: {install.label}: {where} is not "
                              f"known ({setting.value.reason})", data=data, evidence=evidence)
    if truthy(setting.value) is True:
        return Result.passed(install.resource, f"{address}: {install.label} runs with {where}="
                             f"true: no calls to the AWS Price List API", data=data,
                             evidence=evidence)
    if setting.value is None and install.unreadable:
        return Result.unknown(
            install.resource, f"{address}: {install.label}: {where} is not set in the known "
            f"values, and some values are not known ({'; '.join(install.unreadable)})",
            data=data, evidence=evidence)
    said = "is not set" if setting.value is None else f"is {setting.value!r}"
    if install.release is not None and setting.source == "value":
        said = f"is {install.release.shown(setting.name, setting.value)}"
    return Result.fail(
        install.resource,
        f"{address}: {install.label}: {where} {said}: Karpenter calls the AWS Price List "
        f"API, which has no VPC endpoint",
        remediation=_isolated_remediation(install), data=data, evidence=evidence)


def _isolated_setting(install: KarpenterInstall) -> Setting:
    """The spelling to write for this install: a chart value, or the controller's env."""
    if install.release is None:
        return Setting(None, "env", ISOLATED_VPC.env[0])
    version = install.release.version
    if isinstance(version, str):
        numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
        if numbers and numbers < SETTINGS_AWS_BEFORE:
            return Setting(None, "value", ISOLATED_VPC.values[1])
    return Setting(None, "value", ISOLATED_VPC.values[0])


def _isolated_remediation(install: KarpenterInstall) -> str:
    name = _isolated_setting(install).name
    kind = "env" if install.release is None else "set"
    return render(block(kind, body=attributes(name=name, value="true")))


def _node_class_verdict(ctx: ScanContext, node_class: NodeClass) -> Result | None:
    obj = node_class.obj
    address = obj.resource.address
    where = f"{address}: {obj.label}"
    evidence = [address, *cluster_evidence(ctx, obj.resource)]
    if node_class.spec_unknown is not None:
        return Result.unknown(obj.resource, f"{where}: its spec is not known "
                              f"({node_class.spec_unknown.reason}): cannot tell whether it "
                              f"names a role or an instance profile", evidence=evidence)
    if node_class.role is not None and node_class.instance_profile is None:
        role = (f"the IAM role {node_class.role}" if isinstance(node_class.role, str)
                and not obj.sensitive else "an IAM role")
        return Result.fail(
            obj.resource,
            f"{where} names {role} (spec.role): Karpenter then creates the "
            f"nodes' instance profile through the IAM API, which has no VPC endpoint",
            remediation=render(
                block("resource", "aws_iam_instance_profile", "karpenter_node", body=attributes(
                    name="karpenter-node", role=Reference("aws_iam_role.karpenter_node.name"))),
                Comment("in the EC2NodeClass: instanceProfile: karpenter-node (instead of role)")),
            data={"field": "spec.role"}, evidence=evidence)
    if node_class.instance_profile is not None:
        return Result.passed(obj.resource, f"{where} names an instance profile "
                             f"(spec.instanceProfile): no IAM calls", evidence=evidence,
                             data={"field": "spec.instanceProfile"})
    return None


POLICIES = (karpenter_isolated_vpc,)
