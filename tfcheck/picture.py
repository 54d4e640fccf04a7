"""A picture of one cluster's network, as a person would draw it, in Mermaid and DOT.

The VPC as a box; inside it the subnets grouped by Availability Zone, the route table
each uses, and the VPC endpoints with their security groups; outside it the cluster,
its node sources and the gateways the route tables send traffic to. Parts a failing
finding is about are red; a service a cluster needs and has no endpoint for is a
dashed red box. Built from the shared network facts (`tfcheck.network`), so it shows
exactly what the policies decided on. Used by the pull-request comment (`--format
markdown`) and `tfcheck graph --cluster`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from tfcheck.model import Finding, Status, Unknown
from tfcheck.network import LOCAL, network
from tfcheck.policy import ScanContext

UNKNOWN_AZ = "Availability Zone not known"
# Route targets drawn as gateways outside the VPC box (local routes stay inside).
_SHAPES = {"cluster": ('(["', '"])'), "nodes": ('["', '"]'), "subnet": ('["', '"]'),
           "table": ('[("', '")]'), "gateway": ('{{"', '"}}'), "endpoint": ('[/"', '"/]'),
           "sg": ('>"', '"]'), "missing": ('["', '"]')}
_DOT_SHAPES = {"cluster": "doubleoctagon", "nodes": "box3d", "subnet": "box",
               "table": "cylinder", "gateway": "hexagon", "endpoint": "parallelogram",
               "sg": "note", "missing": "box"}


class Node(msgspec.Struct, frozen=True):
    key: str  # resource address (or pseudo-address / literal ID)
    kind: str  # cluster, nodes, subnet, table, gateway, endpoint, sg, missing
    label: str


class Picture(msgspec.Struct):
    """One cluster's network: boxes (VPC, AZs), nodes and labelled edges."""

    cluster: str
    vpc: str | None = None
    azs: dict[str, list[Node]] = msgspec.field(default_factory=dict)  # AZ -> subnets
    inside: list[Node] = msgspec.field(default_factory=list)  # route tables, endpoints, SGs
    outside: list[Node] = msgspec.field(default_factory=list)  # cluster, node sources, gateways
    edges: list[tuple[str, str, str]] = msgspec.field(default_factory=list)  # from, to, label
    failing: set[str] = msgspec.field(default_factory=set)

    def nodes(self) -> list[Node]:
        return [*self.outside, *(n for subnets in self.azs.values() for n in subnets),
                *self.inside]

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster, "vpc": self.vpc,
            "availability_zones": {az: [n.key for n in nodes] for az, nodes in self.azs.items()},
            "nodes": [{"key": n.key, "kind": n.kind, "label": n.label,
                       "failing": n.key in self.failing} for n in self.nodes()],
            "edges": [{"source": s, "target": t, "label": label} for s, t, label in self.edges],
        }


def cluster_pictures(ctx: ScanContext, findings: Iterable[Finding],
                     clusters: Iterable[str] | None = None) -> dict[str, Picture]:
    """Pictures of `clusters` (default: those with an unsuppressed failing finding)."""
    failing_findings = [f for f in findings if f.status is Status.FAIL and not f.suppressed]
    facts = network(ctx)
    wanted = set(clusters) if clusters is not None else {
        a for f in failing_findings for a in (f.address, *f.evidence, str(f.data.get(
            "cluster", ""))) if a.split(" ", 1)[0] in {c.address for c in facts.clusters}}
    wanted = {w.split(" ", 1)[0] for w in wanted}
    return {c.address: _picture(ctx, c.address, failing_findings)
            for c in facts.clusters if c.address in wanted}


def _picture(ctx: ScanContext, address: str, failing: list[Finding]) -> Picture:
    facts = network(ctx)
    info = facts.cluster(address)
    picture = Picture(address, vpc=info.vpc if info else None)
    if info is None:
        return picture
    seen: set[str] = set()

    def add(node: Node, where: list[Node]) -> None:
        if node.key not in seen:
            seen.add(node.key)
            where.append(node)

    def edge(source: str, target: str, label: str = "") -> None:
        if (source, target, label) not in picture.edges:
            picture.edges.append((source, target, label))

    add(Node(address, "cluster", f"EKS cluster<br/>{address}"), picture.outside)
    subnet_keys = list(info.subnets.keys)
    for source in info.nodes:
        if source.resource.address == address:
            continue
        add(Node(source.resource.address, "nodes",
                 f"{source.kind}<br/>{source.resource.address}"), picture.outside)
        subnet_keys += [k for k in source.subnets.keys if k not in subnet_keys]
    for key in info.subnets.keys:
        edge(address, key, "control plane ENIs")
    for source in info.nodes:
        if source.resource.address != address:
            for key in source.subnets.keys:
                edge(source.resource.address, key, "nodes")

    for key in subnet_keys:
        subnet = facts.subnet(key)
        zone = subnet.availability_zone
        az = zone if isinstance(zone, str) and zone else UNKNOWN_AZ
        cidr = subnet.cidr if subnet.cidr is not None and not isinstance(
            subnet.cidr, Unknown) else None
        label = f"subnet<br/>{key}" + (f"<br/>{cidr}" if cidr else "")
        if key not in seen:
            seen.add(key)
            picture.azs.setdefault(az, []).append(Node(key, "subnet", label))
        effective = facts.effective_route_table(key)
        for table_key in effective.tables:
            add(Node(table_key, "table", f"route table<br/>{table_key}"), picture.inside)
            edge(key, table_key, "main" if effective.main else "")
            for route in facts.route_table(table_key).routes:
                if route.kind == LOCAL:
                    continue
                target = route.target_label
                destination = route.destination if isinstance(route.destination, str) else "?"
                add(Node(target, "gateway", f"{route.kind}<br/>{target}"), picture.outside)
                edge(table_key, target, destination)

    for endpoint in facts.endpoints_in(info.vpc):
        service = endpoint.service or "?"
        kind = endpoint.type if isinstance(endpoint.type, str) else "?"
        add(Node(endpoint.resource.address, "endpoint",
                 f"{service} endpoint ({kind})<br/>{endpoint.resource.address}"),
            picture.inside)
        for group in endpoint.security_groups.keys:
            add(Node(group, "sg", f"security group<br/>{group}"), picture.inside)
            edge(endpoint.resource.address, group, "")

    for finding in failing:
        if finding.address in seen or finding.address == address:
            picture.failing.add(finding.address)
        gateway = finding.data.get("target")  # the gateway of a route to the internet
        if isinstance(gateway, str) and gateway in seen:
            picture.failing.add(gateway)
        groups = finding.data.get("security_groups")
        if finding.rule_id.startswith("PC4") and isinstance(groups, list):
            picture.failing.update(g for g in groups if isinstance(g, str) and g in seen)
        needed = finding.data.get("service")
        if finding.address == address and isinstance(needed, str):
            missing = f"missing {needed} endpoint"
            add(Node(missing, "missing", f"no {needed} endpoint<br/>{finding.rule_id}"),
                picture.inside)
            picture.failing.add(missing)
    return picture


# -- Mermaid -----------------------------------------------------------------------------

def to_mermaid(picture: Picture) -> str:
    """A `flowchart LR` with the VPC and each Availability Zone as subgraphs."""
    ids = {node.key: f"n{i}" for i, node in enumerate(picture.nodes())}
    lines = ["flowchart LR"]

    def node_line(node: Node, indent: str) -> str:
        opening, closing = _SHAPES[node.kind]
        return f"{indent}{ids[node.key]}{opening}{_mermaid(node.label)}{closing}"

    lines += [node_line(n, "  ") for n in picture.outside]
    vpc_label = f"VPC {picture.vpc}" if picture.vpc else "VPC (not known)"
    lines.append(f'  subgraph vpc["{_mermaid(vpc_label)}"]')
    for number, (az, subnets) in enumerate(sorted(picture.azs.items())):
        lines.append(f'    subgraph az{number}["{_mermaid(az)}"]')
        lines += [node_line(n, "      ") for n in subnets]
        lines.append("    end")
    lines += [node_line(n, "    ") for n in picture.inside]
    lines.append("  end")
    for source, target, label in picture.edges:
        if source in ids and target in ids:
            text = f'|"{_mermaid(label)}"|' if label else ""
            lines.append(f"  {ids[source]} -->{text} {ids[target]}")
    lines.append("  classDef fail fill:#ffebe9,stroke:#cf222e,stroke-width:2px,color:#1f2328")
    lines.append("  classDef missing fill:#fff,stroke:#cf222e,stroke-dasharray:5 5,"
                 "color:#cf222e")
    failing = [ids[k] for k in sorted(picture.failing) if k in ids
               and not k.startswith("missing ")]
    missing = [ids[n.key] for n in picture.nodes() if n.kind == "missing"]
    if failing:
        lines.append(f"  class {','.join(failing)} fail")
    if missing:
        lines.append(f"  class {','.join(missing)} missing")
    return "\n".join(lines) + "\n"


def _mermaid(text: str) -> str:
    """Text for a quoted Mermaid label: entity codes for what Mermaid would parse."""
    from tfcheck.report.common import without_control_chars

    text = " ".join(without_control_chars(text).split())
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("&", "#amp;"), ("`", "#96;"),
                       ("|", "#124;")):
        text = text.replace(char, code)
    # `<br/>` is the only markup a label may hold; anything else is text
    text = text.replace("<br/>", "\0").replace("<", "#lt;").replace(">", "#gt;")
    return text.replace("\0", "<br/>")


# -- DOT ---------------------------------------------------------------------------------

def to_dot(picture: Picture) -> str:
    """Graphviz DOT with the VPC and each Availability Zone as clusters."""
    ids = {node.key: f"n{i}" for i, node in enumerate(picture.nodes())}
    lines = ["digraph tfcheck {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']

    def node_line(node: Node, indent: str) -> str:
        attributes = [f"label={_dot(node.label.replace('<br/>', chr(10)))}",
                      f"shape={_DOT_SHAPES[node.kind]}"]
        if node.kind == "missing":
            attributes += ['style="dashed"', 'color="#cf222e"', 'fontcolor="#cf222e"']
        elif node.key in picture.failing:
            attributes += ['style="filled"', 'fillcolor="#ffebe9"', 'color="#cf222e"',
                           "penwidth=2"]
        return f"{indent}{ids[node.key]} [{', '.join(attributes)}];"

    lines += [node_line(n, "  ") for n in picture.outside]
    vpc_label = f"VPC {picture.vpc}" if picture.vpc else "VPC (not known)"
    lines += ["  subgraph cluster_vpc {", f"    label={_dot(vpc_label)};", "    style=rounded;"]
    for number, (az, subnets) in enumerate(sorted(picture.azs.items())):
        lines += [f"    subgraph cluster_az{number} {{", f"      label={_dot(az)};",
                  "      style=dashed;"]
        lines += [node_line(n, "      ") for n in subnets]
        lines.append("    }")
    lines += [node_line(n, "    ") for n in picture.inside]
    lines.append("  }")
    for source, target, label in picture.edges:
        if source in ids and target in ids:
            suffix = f" [label={_dot(label)}]" if label else ""
            lines.append(f"  {ids[source]} -> {ids[target]}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
