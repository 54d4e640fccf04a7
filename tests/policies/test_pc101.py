"""PC101 cluster-private-endpoint."""

from __future__ import annotations

from tfcheck.model import Status, Unknown
from tfcheck_policies.cluster_private_endpoint import cluster_private_endpoint

from ..network_builders import endpoint_cluster, run


def test_private_access_from_an_unset_variable_names_it() -> None:
    p = endpoint_cluster(endpoint_private_access=Unknown("variable private has no value: "
                                                         "pass -var-file or --var"))
    graph = p.build()
    graph.kind = "hcl"
    (result,) = run(cluster_private_endpoint, graph)
    assert result.status is Status.UNKNOWN
    assert result.message == (
        "vpc_config.endpoint_private_access is not known (var.private has no value: pass "
        "it with --var private=VALUE or --var-file)")
