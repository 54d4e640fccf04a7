"""PC402 node-sg-egress: node security groups let HTTPS out to the endpoints and S3."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.centralised import centralised
from tfcheck.facts.hcl_snippets import (
    Item,
    Literal,
    attributes,
    render,
    resource,
    separated,
    uncommented,
)
from tfcheck.model import Resource, Severity, reveal
from tfcheck.network import (
    ClusterNetwork,
    Endpoint,
    IPNetwork,
    Network,
    NodeSource,
    Rule,
    SecurityGroup,
    about,
    cluster_vpcs,
    covers,
    endpoint_counts_for,
    hcl_reference,
    network,
    required_services,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain

from .support import HTTPS, PRIVATE_CLUSTERS_GUIDE, known_cidr


@policy(
    id="PC402",
    slug="node-sg-egress",
    severity=Severity.HIGH,
    title="Node security groups allow HTTPS out to the endpoints and S3",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def node_sg_egress(ctx: ScanContext) -> Iterator[Result]:
    """Nodes whose security groups restrict egress still reach the endpoints and S3 on 443.

    ## Why
    The EKS user guide: "The instances for nodes must have access to the VPC endpoints."
    A node carries the union of its security groups' rules. Terraform removes the
    default allow-all egress rule from every `aws_security_group` it creates, so a node
    security group with hand-written egress rules must still allow TCP 443 to the
    interface endpoints (their security groups, their subnets or the VPC CIDR) and, where
    S3 is served by a gateway endpoint, to the S3 prefix list (`prefix_list_ids` with the
    gateway endpoint's `prefix_list_id`) — ECR image layers come from S3. The cluster
    security group EKS creates has open egress, so nodes that carry it pass. A hub
    VPC's centralised endpoints (PC301) are targets too: their subnets' CIDRs.

    IPv6 clusters (`ip_family = "ipv6"`) get no IPv6-only egress requirement here: an
    interface endpoint has IPv4 addresses only unless its `ip_address_type` is
    `dualstack` or `ipv6`, and the VPC CNI gives IPv6 pods IPv4 egress through the
    node's own IPv4 address (SNAT), so the IPv4 rules above are the ones that decide.
    Whether a client of a dualstack endpoint falls back to IPv4 when IPv6 is refused
    depends on the client, not on the configuration: a fail there could be false, so
    none is reported (PC401 checks the endpoint side, where pods' IPv6 sources arrive).

    ## Bad
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block           = "10.0.0.0/16"
      enable_dns_support   = true
      enable_dns_hostnames = true
    }

    resource "aws_subnet" "private" {
      count             = 2
      vpc_id            = aws_vpc.main.id
      cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 4, count.index)
      availability_zone = ["eu-west-1a", "eu-west-1b"][count.index]
    }

    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
    }

    resource "aws_route_table" "private" {
      vpc_id = aws_vpc.main.id
    }

    resource "aws_route_table_association" "private" {
      count          = 2
      subnet_id      = aws_subnet.private[count.index].id
      route_table_id = aws_route_table.private.id
    }

    resource "aws_security_group" "vpc_endpoints" {
      vpc_id = aws_vpc.main.id
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block]
      }
    }

    resource "aws_vpc_endpoint" "ecr_api" {
      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.eu-west-1.ecr.api"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
      security_group_ids  = [aws_security_group.vpc_endpoints.id]
    }

    resource "aws_vpc_endpoint" "s3" {
      vpc_id            = aws_vpc.main.id
      service_name      = "com.amazonaws.eu-west-1.s3"
      vpc_endpoint_type = "Gateway"
      route_table_ids   = [aws_route_table.private.id]
    }

    resource "aws_launch_template" "nodes" {
      vpc_security_group_ids = [aws_security_group.node.id]
    }

    resource "aws_eks_node_group" "default" {
      cluster_name  = aws_eks_cluster.main.name
      node_role_arn = aws_iam_role.node.arn
      subnet_ids    = aws_subnet.private[*].id
      launch_template {
        id      = aws_launch_template.nodes.id
        version = aws_launch_template.nodes.latest_version
      }
      scaling_config {
        desired_size = 2
        max_size     = 3
        min_size     = 2
      }
    }

    resource "aws_security_group" "node" {
      vpc_id = aws_vpc.main.id
      egress {
        from_port   = 53
        to_port     = 53
        protocol    = "udp"
        cidr_blocks = [aws_vpc.main.cidr_block]
      }
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_security_group" "node" {
      egress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block]
      }
      egress {
        from_port       = 443
        to_port         = 443
        protocol        = "tcp"
        prefix_list_ids = [aws_vpc_endpoint.s3.prefix_list_id]
      }
    }
    ```

    ## Remediation
    Add egress rules for TCP 443 to the VPC CIDR (or the endpoint security group) and to
    the S3 gateway endpoint's prefix list; the finding's remediation is the rules.
    """
    net = network(ctx)
    verdicts: dict[str, list[tuple[NodeSource, bool | None, list[str], list[str]]]] = {}
    users: dict[str, list[ClusterNetwork]] = {}
    for _vpc, clusters in sorted(cluster_vpcs(net).items()):
        targets = _egress_targets(ctx, net, clusters)
        for info in clusters:
            for source in info.nodes:
                groups = [net.security_group(k) for k in source.security_groups.keys]
                subjects = [g for g in groups if g.resource is not None
                            and not g.resource.is_data]
                if not subjects:
                    continue
                verdict, missing, doubts = _egress_allows(groups, targets, source,
                                                          net.graph.kind)
                for group in subjects:
                    verdicts.setdefault(group.key, []).append((source, verdict, missing, doubts))
                    users.setdefault(group.key, []).append(info)
    for key in sorted(verdicts):
        group = net.security_group(key)
        assert group.resource is not None
        yield about(_egress_result(net, group.resource, verdicts[key]), users[key])


_Target = tuple[str, str, list[IPNetwork], set[str], set[str], str | None]
# (label, kind "endpoint"|"s3", CIDRs to reach, security groups, prefix lists, the VPC
# whose primary block holds the endpoint's subnets where their CIDRs are not known)


def _egress_targets(ctx: ScanContext, net: Network, clusters: list[ClusterNetwork]
                    ) -> list[_Target]:
    """What nodes must reach on 443: each required interface endpoint, the S3 prefix list."""
    targets: dict[str, _Target] = {}
    central = centralised(ctx)
    for info in clusters:
        endpoints = net.endpoints_in(info.vpc)
        interface_s3 = any(endpoint_counts_for(e, "s3", info.region) is None and e.is_interface
                           for e in endpoints)
        for requirement in required_services(ctx, info):
            if not any(endpoint_counts_for(e, requirement.service, info.region) is None
                       for e in endpoints):
                # a hub endpoint a Route 53 zone serves to the cluster: reach its subnets
                for endpoint in central.endpoints_serving(info, [requirement.service]):
                    hub = endpoint.vpc.keys[0] if len(endpoint.vpc.keys) == 1 else None
                    targets.setdefault(endpoint.address, _interface_target(net, endpoint, hub))
            for endpoint in endpoints:
                if endpoint_counts_for(endpoint, requirement.service, info.region) is not None:
                    continue
                if endpoint.is_interface:
                    targets.setdefault(endpoint.address,
                                       _interface_target(net, endpoint, info.vpc))
                elif endpoint.is_gateway and requirement.service == "s3" and not interface_s3:
                    lists = {endpoint.prefix_list_key, *_s3_prefix_list_sources(ctx)}
                    targets.setdefault(endpoint.address, (
                        f"the S3 prefix list of {endpoint.address}", "s3", [], set(), lists,
                        None))
    return [targets[k] for k in sorted(targets)]


def _interface_target(net: Network, endpoint: Endpoint, vpc: str | None) -> _Target:
    """An interface endpoint as an egress target: its subnets' CIDRs, else its VPC's."""
    cidrs: list[IPNetwork] = []
    for key in endpoint.subnets.keys:
        cidr = known_cidr(net.subnet(key))
        if cidr is None:
            cidrs = []
            break
        cidrs.append(cidr)
    if not cidrs or endpoint.subnets.unknown is not None:
        cidrs = list(net.vpc_cidrs(vpc)[:1])
    carved = {net.subnet(k).carved_from for k in endpoint.subnets.keys}
    block = carved.pop() if len(carved) == 1 and endpoint.subnets.unknown is None else None
    return (endpoint.address, "endpoint", cidrs, set(endpoint.security_groups.keys), set(),
            block)


def _s3_prefix_list_sources(ctx: ScanContext) -> set[str]:
    """Data sources that read the S3 prefix list (`data.aws_prefix_list` by name)."""
    found: set[str] = set()
    for source in ctx.graph.resources("aws_prefix_list", "aws_ec2_managed_prefix_list"):
        name = reveal(source.values.get("name"))
        if isinstance(name, str) and name.endswith(".s3"):
            found.add(source.address)
    return found


def _egress_allows(groups: list[SecurityGroup], targets: list[_Target], source: NodeSource,
                   input_kind: str) -> tuple[bool | None, list[str], list[str]]:
    """(verdict, targets not reachable, doubts) for the union of a node's groups."""
    rules = [r for g in groups for r in g.egress]
    missing: list[str] = []
    doubts: list[str] = []
    for label, kind, cidrs, peers, prefix_lists, block in targets:
        verdict = _reaches(rules, kind, cidrs, peers, prefix_lists, block)
        if verdict is None:
            doubts.append(f"whether TCP 443 to {label} is allowed")
        elif verdict is False:
            missing.append(label)
    if not missing and not doubts:
        return True, [], []  # rules the input cannot read could only allow more
    for rule in rules:
        if rule.unknown is not None and rule.allows_tcp(HTTPS) is not False:
            doubts.append(f"a destination of {rule.declared_by} is not known "
                          f"({explain(rule.unknown, input_kind)})")
    for group in groups:
        if not group.complete:
            doubts.append(f"{group.key} is not in the input, so its rules cannot be read")
        elif group.unknown is not None:
            doubts.append(f"the inline rules of {group.key} are not known "
                          f"({explain(group.unknown, input_kind)})")
        doubts.extend(group.undecided("egress"))
    if source.security_groups.unknown is not None:
        doubts.append(f"some security groups of {source.address} are not known "
                      f"({explain(source.security_groups.unknown, input_kind)})")
    return (None if doubts else False), missing, doubts


def _reaches(rules: list[Rule], kind: str, cidrs: list[IPNetwork], peers: set[str],
             prefix_lists: set[str], block: str | None = None) -> bool | None:
    verdict: bool | None = False
    for rule in rules:
        ports = rule.allows_tcp(HTTPS)
        if ports is False:
            continue
        hit = (
            any(c.prefixlen == 0 for c in rule.cidrs)
            or bool(peers & set(rule.peers))
            or bool(prefix_lists & set(rule.prefix_lists))
            or (bool(cidrs) and all(any(covers(c, t) for c in rule.cidrs) for t in cidrs))
            or (block is not None and block in rule.blocks_of)
        )
        if hit and ports is True:
            return True
        if hit or rule.unknown is not None or rule.blocks_of or (
            kind == "s3" and any(p.startswith("pl-") for p in rule.prefix_lists)
        ):
            verdict = None  # a literal prefix list nothing in the input names: maybe S3's
    return verdict


def _egress_result(net: Network, group: Resource,
                   verdicts: list[tuple[NodeSource, bool | None, list[str], list[str]]]
                   ) -> Result:
    users = ", ".join(dict.fromkeys(s.address for s, _, _, _ in verdicts))
    failing = [(s, m) for s, v, m, _ in verdicts if v is False]
    evidence = (group.address, *dict.fromkeys(s.address for s, _, _, _ in verdicts))
    if failing:
        source, missing = failing[0]
        return Result.fail(
            group, f"nodes of {source.address} carry {group.address}, whose egress rules "
                   f"(with their other security groups) allow no TCP 443 to "
                   f"{', '.join(missing)}",
            remediation=_egress_remediation(net, group, missing),
            evidence=(*evidence, *missing), data={"unreachable": missing},
            attribute="egress")
    undecided = [(s, m, d) for s, v, m, d in verdicts if v is None]
    if undecided:
        source, missing, doubts = undecided[0]
        return Result.unknown(
            group, f"cannot tell whether nodes of {source.address} with {group.address} reach "
                   f"the endpoints on TCP 443: {'; '.join(doubts)}",
            evidence=evidence, data={"unreachable": missing})
    return Result.passed(group, f"nodes with {group.address} ({users}) reach every required "
                                "endpoint and S3 on TCP 443", evidence=evidence)


def _egress_remediation(net: Network, group: Resource, missing: list[str]) -> str:
    # the rules name the group and the CIDR without the comment saying what they stand for
    group_ref = uncommented(hcl_reference(net, group.address))
    blocks: list[Item] = []
    vpcs = _vpc_of(net, group)
    # the VPCs the unreachable endpoints are in: the nodes' own, or a hub's
    endpoint_vpcs = [e.vpc.keys[0] for m in missing
                     if (e := net.endpoint(m)) is not None and len(e.vpc.keys) == 1]
    wanted = list(dict.fromkeys(endpoint_vpcs)) or vpcs[:1] or [""]
    if any(not m.startswith("the S3 prefix list") for m in missing):
        for number, vpc in enumerate(wanted):
            target = (uncommented(hcl_reference(net, vpc, "cidr_block"))
                      if vpc and net.graph.get(vpc) is not None else Literal("10.0.0.0/16"))
            name = "nodes_https_to_endpoints" + (f"_{number + 1}" if number else "")
            blocks.append(resource("aws_vpc_security_group_egress_rule", name, attributes(
                security_group_id=group_ref, cidr_ipv4=target, ip_protocol="tcp",
                from_port=HTTPS, to_port=HTTPS)))
    for label in missing:
        if label.startswith("the S3 prefix list of "):
            endpoint = label.removeprefix("the S3 prefix list of ")
            blocks.append(resource("aws_vpc_security_group_egress_rule", "nodes_https_to_s3",
                                   attributes(security_group_id=group_ref, prefix_list_id=(
                                       hcl_reference(net, endpoint, "prefix_list_id")),
                                       ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS)))
    return render(*separated(blocks))


def _vpc_of(net: Network, group: Resource) -> list[str]:
    return list(net.security_group(group.address).vpc.keys)


POLICIES = (node_sg_egress,)
