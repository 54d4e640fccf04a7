"""PC101 cluster-private-endpoint: the cluster API endpoint has private access enabled."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.hcl_snippets import attributes, block, render
from tfcheck.model import Severity, Unknown
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain

from .support import PRIVATE_CLUSTERS_GUIDE


@policy(
    id="PC101",
    slug="cluster-private-endpoint",
    severity=Severity.HIGH,
    title="Cluster API endpoint has private access enabled",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def cluster_private_endpoint(ctx: ScanContext) -> Iterator[Result]:
    """Nodes without internet access reach the API server only through its private endpoint.

    ## Why
    The EKS user guide, "Private cluster requirements":

    > Endpoint private access is required for nodes to register with the cluster endpoint.

    The provider default for
    `vpc_config.endpoint_private_access` is `false`, so a cluster that does not set it
    has nodes that never join.

    ## Bad
    ```hcl
    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids = aws_subnet.private[*].id
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
    Set `endpoint_private_access = true` in the cluster's `vpc_config` block.
    """
    for cluster in ctx.graph.managed("aws_eks_cluster"):
        private = cluster.get("vpc_config.endpoint_private_access")
        if isinstance(private, Unknown):
            yield Result.unknown(
                cluster,
                f"vpc_config.endpoint_private_access is not known "
                f"({explain(private, ctx.graph.kind)})",
                attribute="vpc_config.endpoint_private_access",
            )
        elif private is True:
            yield Result.passed(cluster, "vpc_config.endpoint_private_access is true")
        else:
            how = "set to false" if cluster.sets("vpc_config.endpoint_private_access") else (
                "not set (provider default false)"
            )
            yield Result.fail(
                cluster,
                f"vpc_config.endpoint_private_access is {how}: nodes without internet "
                f"access cannot register with the API server",
                remediation=render(block("vpc_config", body=attributes(
                    endpoint_private_access=True))),
                attribute="vpc_config.endpoint_private_access",
            )


POLICIES = (cluster_private_endpoint,)
