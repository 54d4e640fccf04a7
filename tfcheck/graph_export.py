"""`tfcheck graph`: the resource graph as DOT, Mermaid or JSON, for debugging wiring.

With `--cluster`, the picture of that cluster's network instead (`tfcheck.picture`):
what a person would draw, with the parts the policies fail highlighted.
"""

from __future__ import annotations

import json
import re
from collections import deque
from pathlib import Path

from tfcheck.graph import ResourceGraph
from tfcheck.inputs import resolve_inputs
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan import load_plan_file

NETWORK_TYPES = frozenset({
    "aws_eks_cluster", "aws_eks_node_group", "aws_eks_fargate_profile", "aws_vpc",
    "aws_subnet", "aws_route_table", "aws_route", "aws_route_table_association",
    "aws_main_route_table_association", "aws_default_route_table", "aws_nat_gateway",
    "aws_internet_gateway", "aws_egress_only_internet_gateway", "aws_vpc_endpoint",
    "aws_vpc_endpoint_subnet_association", "aws_vpc_endpoint_route_table_association",
    "aws_vpc_endpoint_security_group_association", "aws_security_group",
    "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule", "aws_default_security_group",
    "aws_launch_template", "aws_autoscaling_group", "aws_vpc_dhcp_options",
    "aws_vpc_dhcp_options_association", "aws_network_interface", "aws_instance",
})


class GraphInputError(Exception):
    """The path given to `tfcheck graph` cannot be loaded."""


def load_graph(path: str) -> ResourceGraph:
    inputs, errors = resolve_inputs([path])
    if errors:
        raise GraphInputError(str(errors[0]))
    item = inputs[0]
    try:
        if item.kind == "hcl":
            from tfcheck.loaders.hcl import load_hcl

            return load_hcl(item.path).graph
        return load_plan_file(Path(item.path), item.display)
    except LoadFailure as failure:
        raise GraphInputError(str(failure.error)) from None


def cluster_picture(path: str, cluster: str, fmt: str) -> str:
    """The picture of `cluster`'s network in `path`, policies run to mark what fails."""
    from tfcheck.engine import ScanOptions, scan
    from tfcheck.picture import to_dot, to_mermaid

    report = scan([path], options=ScanOptions(pictures="all"))
    if report.input_errors:
        raise GraphInputError(str(report.input_errors[0]))
    pictures = {address: picture for (_, address), picture in report.pictures.items()}
    if cluster not in pictures:
        known = ", ".join(sorted(pictures)) or "none"
        raise GraphInputError(f"no cluster {cluster!r} in {path} (clusters: {known})")
    picture = pictures[cluster]
    if fmt == "json":
        return json.dumps(picture.as_json(), indent=2) + "\n"
    return to_mermaid(picture) if fmt == "mermaid" else to_dot(picture)


def export_graph(graph: ResourceGraph, fmt: str, cluster: str | None = None) -> str:
    nodes = [r.address for r in graph.resources()]
    edges = list(graph.edges())
    if cluster is not None:
        if cluster not in graph:
            raise GraphInputError(f"no resource {cluster!r} in the graph")
        keep = _network_of(graph, cluster)
        nodes = [n for n in nodes if n in keep]
        edges = [e for e in edges if e[0] in keep and e[1] in keep]
    if fmt == "json":
        document = {"nodes": [{"address": n, "type": _type_of(graph, n)} for n in nodes],
                    "edges": [{"source": s, "target": t, "attribute": a} for s, t, a in edges]}
        return json.dumps(document, indent=2) + "\n"
    if fmt == "mermaid":
        ids = {n: f"n{i}" for i, n in enumerate(nodes)}
        lines = ["flowchart LR"]
        lines += [f'  {ids[n]}["{_mermaid_text(n)}"]' for n in nodes]
        lines += [f'  {ids[s]} -->|"{_mermaid_text(a)}"| {ids[t]}' for s, t, a in edges]
        return "\n".join(lines) + "\n"
    lines = ["digraph tfcheck {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    lines += [f"  {_dot_id(n)};" for n in nodes]
    lines += [f"  {_dot_id(s)} -> {_dot_id(t)} [label={_dot_id(a)}];" for s, t, a in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _network_of(graph: ResourceGraph, cluster: str) -> set[str]:
    """Everything reachable from the cluster through networking resources, either way."""
    seen = {cluster}
    queue = deque([cluster])
    while queue:
        resource = graph.get(queue.popleft())
        if resource is None:
            continue
        for neighbour in (*graph.references(resource), *graph.referrers(resource)):
            if neighbour.type in NETWORK_TYPES and neighbour.address not in seen:
                seen.add(neighbour.address)
                queue.append(neighbour.address)
    return seen


def _type_of(graph: ResourceGraph, address: str) -> str:
    resource = graph.get(address)
    return resource.type if resource else ""


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_text(text: str) -> str:
    return re.sub(r'["<>]', lambda m: f"#{ord(m.group())};", text)
