"""PC102 cluster-public-endpoint: the cluster API endpoint is not publicly reachable."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from tfcheck.facts.hcl_snippets import attributes, block, render
from tfcheck.marks import shown
from tfcheck.model import Severity, Unknown
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain

ENDPOINT_ACCESS_GUIDE = "https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html"


@policy(
    id="PC102",
    slug="cluster-public-endpoint",
    severity=Severity.MEDIUM,
    title="Cluster API endpoint is not publicly reachable",
    docs_url=ENDPOINT_ACCESS_GUIDE,
)
def cluster_public_endpoint(ctx: ScanContext) -> Iterator[Result]:
    """A private cluster keeps its API server off the internet, or at least narrows who may call it.

    ## Why
    The EKS user guide, "Private cluster requirements":

    > Endpoint public access is optional.

    A public endpoint is reachable from the internet; the provider default is
    `endpoint_public_access = true` with `public_access_cidrs = ["0.0.0.0/0"]`. Severity is
    high when the endpoint is open to the world, medium when the CIDRs are restricted.
    Teams that need public access on purpose can skip this policy (`--skip-policy PC102`).

    ## Bad
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_eks_cluster" "main" {
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
    }
    ```

    ## Remediation
    Set `endpoint_public_access = false` in `vpc_config`, or restrict
    `public_access_cidrs` to the networks that need the API.
    """
    for cluster in ctx.graph.managed("aws_eks_cluster"):
        public = cluster.get("vpc_config.endpoint_public_access")
        if isinstance(public, Unknown):
            yield Result.unknown(
                cluster,
                f"vpc_config.endpoint_public_access is not known "
                f"({explain(public, ctx.graph.kind)})",
                attribute="vpc_config.endpoint_public_access",
            )
            continue
        if public is not True:
            yield Result.passed(cluster, "vpc_config.endpoint_public_access is false")
            continue
        cidrs = cluster.get("vpc_config.public_access_cidrs")
        remediation = render(block("vpc_config", body=attributes(endpoint_public_access=False)))
        undecided = _undecided_cidrs(cidrs)
        if undecided is not None:
            # the endpoint is public whatever the CIDRs are: a fail; only how wide it is
            # open is not known, so the severity is the restricted one
            known = [c for c in cidrs if isinstance(c, str)] if isinstance(cidrs, list) else []
            open_cidrs = [c for c in known if _is_whole_internet(c)]
            yield Result.fail(
                cluster,
                "the public API endpoint is on"
                + (f", open to {', '.join(map(shown, open_cidrs))}" if open_cidrs else
                   f"; how wide is not known: {explain(undecided, ctx.graph.kind)}"),
                remediation=remediation,
                severity=Severity.HIGH if open_cidrs else None,
                attribute="vpc_config.endpoint_public_access",
                data={"public_access_cidrs": known},
            )
            continue
        open_cidrs = [c for c in cidrs or ["0.0.0.0/0"] if _is_whole_internet(str(c))]
        if open_cidrs:
            yield Result.fail(
                cluster,
                f"the public API endpoint is on and open to {', '.join(map(shown, open_cidrs))}",
                remediation=remediation,
                severity=Severity.HIGH,
                attribute="vpc_config.endpoint_public_access",
                data={"public_access_cidrs": list(cidrs or ["0.0.0.0/0"])},
            )
        else:
            listed = [c.partial if isinstance(c, Unknown) else str(c) for c in cidrs]
            yield Result.fail(
                cluster,
                f"the public API endpoint is on, restricted to {', '.join(map(shown, listed))}",
                remediation=remediation,
                attribute="vpc_config.endpoint_public_access",
                data={"public_access_cidrs": listed},
            )


def _undecided_cidrs(cidrs: Any) -> Unknown | None:
    """The unknown part of `public_access_cidrs` that may be 0.0.0.0/0; None if none.

    A CIDR rendered around an unknown address (`"${aws_eip.ci.public_ip}/32"`) is
    restricted whatever the address: its prefix length says so.
    """
    for value in cidrs if isinstance(cidrs, list) else [cidrs]:
        if isinstance(value, Unknown):
            partial = value.partial or ""
            prefix = re.search(r"/(\d+)$", partial)
            if prefix is None or int(prefix.group(1)) == 0:
                return value
    return None


def _is_whole_internet(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False



POLICIES = (cluster_public_endpoint,)
