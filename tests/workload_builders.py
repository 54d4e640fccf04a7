"""Graph builders for workload policy tests: resources in the shape the plan loader gives.

Nested blocks are lists of dicts, `configured` paths and regions set, so that policy
tests do not depend on a loader. Shared by tests/test_workloads.py and tests/policies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tfcheck.config import Config
from tfcheck.graph import ProviderConfig, ResourceGraph
from tfcheck.model import Resource, Status, Unknown
from tfcheck.policy import Policy, Result, ScanContext

_ADDRESS = re.compile(
    r"^(?P<module>(?:module\.[\w-]+(?:\[[^\]]+\])?\.)*)(?P<data>data\.)?(?P<type>[\w-]+)\."
    r"(?P<name>[\w-]+)(?:\[(?P<index>[^\]]+)\])?$"
)


def resource(address: str, values: Mapping[str, Any] | None = None, *,
             configured: Iterable[str] | None = None, provider: str | None = None,
             region: str | Unknown | None = "eu-west-1") -> Resource:
    """A resource instance as the plan loader makes it."""
    match = _ADDRESS.match(address)
    assert match, address
    rtype = match.group("type")
    index: int | str | None = match.group("index")
    if isinstance(index, str):
        index = int(index) if index.isdigit() else index.strip('"')
    if provider is None:
        provider = rtype.split("_", 1)[0]
    return Resource(
        address=address,
        type=rtype,
        name=match.group("name"),
        mode="data" if match.group("data") else "managed",
        module=match.group("module").rstrip("."),
        index=index,
        values=dict(values or {}),
        configured=frozenset(configured) if configured is not None else None,
        provider=provider,
        region=region if provider == "aws" else None,
    )


def graph_of(*resources: Resource, edges: Iterable[tuple[str, str, str]] = (),
             providers: Iterable[ProviderConfig] = ()) -> ResourceGraph:
    """A graph of the resources; edges are (source, attribute, target)."""
    graph = ResourceGraph(source="test", kind="plan")
    for item in resources:
        graph.add_resource(item)
    for source, attribute, target in edges:
        graph.add_reference(source, attribute, target)
    for provider in providers:
        graph.providers[provider.key] = provider
    return graph


def run(policy: Policy, graph: ResourceGraph, config: Config | None = None) -> list[Result]:
    return list(policy.check(ScanContext(graph, config or Config())))


def verdicts(results: Iterable[Result]) -> list[tuple[str, str]]:
    """(status, address) of each result, sorted: what most assertions compare."""
    return sorted((r.status.value, r.subject.address) for r in results)


def only(results: list[Result], address: str, status: Status | None = None) -> Result:
    """The single result on `address` (optionally with `status`)."""
    found = [r for r in results if r.subject.address == address
             and (status is None or r.status is status)]
    assert len(found) == 1, [(r.status.value, r.subject.address, r.message) for r in results]
    return found[0]


def cluster(name: str = "main", address: str | None = None, *, region: str = "eu-west-1",
            public: bool = False, service_cidr: str | None = None,
            authentication_mode: str | None = None) -> Resource:
    values: dict[str, Any] = {
        "name": name,
        "vpc_config": [{"endpoint_private_access": True, "endpoint_public_access": public}],
    }
    configured = {"name", "vpc_config", "vpc_config.endpoint_private_access",
                  "vpc_config.endpoint_public_access"}
    if service_cidr is not None:
        values["kubernetes_network_config"] = [{"service_ipv4_cidr": service_cidr}]
        configured |= {"kubernetes_network_config",
                       "kubernetes_network_config.service_ipv4_cidr"}
    if authentication_mode is not None:
        values["access_config"] = [{"authentication_mode": authentication_mode}]
        configured |= {"access_config", "access_config.authentication_mode"}
    return resource(address or f"aws_eks_cluster.{name}", values, configured=configured,
                    region=region)


def helm(address: str, chart: str, *, values: list[str] | None = None,
         sets: Mapping[str, str] | None = None, repository: str | None = None,
         namespace: str = "kube-system", provider: str = "helm", **extra: Any) -> Resource:
    body: dict[str, Any] = {"chart": chart, "namespace": namespace, "values": values or []}
    if repository is not None:
        body["repository"] = repository
    if sets:
        body["set"] = [{"name": k, "value": v, "type": None} for k, v in sets.items()]
    body.update(extra)
    return resource(address, body, provider=provider)


def container(name: str, image: str | Unknown, *, args: list[str] | None = None,
              command: list[str] | None = None,
              env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A kubernetes provider `container` block."""
    return {
        "name": name,
        "image": image,
        "args": args or [],
        "command": command or [],
        "env": [{"name": k, "value": v, "value_from": []} for k, v in (env or {}).items()],
    }


def deployment(address: str, *containers: dict[str, Any], namespace: str = "default",
               service_account: str | None = None, name: str | None = None,
               init: list[dict[str, Any]] | None = None) -> Resource:
    """A `kubernetes_deployment[_v1]` with the given containers."""
    pod: dict[str, Any] = {"container": list(containers), "init_container": init or []}
    if service_account is not None:
        pod["service_account_name"] = service_account
    return resource(address, {
        "metadata": [{"name": name or address.rsplit(".", 1)[-1], "namespace": namespace}],
        "spec": [{"template": [{"metadata": [{}], "spec": [pod]}]}],
    }, provider="kubernetes")


def service_account(address: str, name: str, namespace: str = "default",
                    annotations: Mapping[str, Any] | None = None) -> Resource:
    return resource(address, {"metadata": [{
        "name": name, "namespace": namespace, "annotations": dict(annotations or {})}]},
        provider="kubernetes")


def kubectl(address: str, yaml_body: str | Unknown) -> Resource:
    return resource(address, {"yaml_body": yaml_body}, provider="kubectl")


def ctx_of(*resources: Resource, **kwargs: Any) -> ScanContext:
    return ScanContext(graph_of(*resources, **kwargs))


