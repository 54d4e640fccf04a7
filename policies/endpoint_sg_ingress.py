"""PC401 endpoint-sg-ingress: endpoint security groups admit HTTPS from every node subnet."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts.centralised import centralised
from tfcheck.facts.custom_networking import POD_SUBNETS, PodNetworking, pod_networking
from tfcheck.facts.hcl_snippets import (
    BLANK,
    Attribute,
    Comment,
    Item,
    Literal,
    Reference,
    Value,
    attributes,
    block,
    render,
    separated,
    uncommented,
)
from tfcheck.marks import shown
from tfcheck.model import Severity, Status, Unknown
from tfcheck.network import (
    IPV6_SUFFIX,
    ClusterNetwork,
    Endpoint,
    IPNetwork,
    Network,
    NodeSource,
    Rule,
    SecurityGroup,
    Subnet,
    about,
    cluster_vpcs,
    covers,
    hcl_reference,
    network,
    required_services,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain

from .support import HTTPS, PRIVATE_CLUSTERS_GUIDE, known_cidr


@policy(
    id="PC401",
    slug="endpoint-sg-ingress",
    severity=Severity.HIGH,
    title="Interface endpoint security groups admit HTTPS from every node subnet",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def endpoint_sg_ingress(ctx: ScanContext) -> Iterator[Result]:
    """Every interface endpoint admits TCP 443 from every node subnet.

    ## Why
    The EKS user guide: "If you create a managed node group, the VPC interface endpoint
    security group must allow the CIDR for the subnets, or you must add the created node
    security group to the VPC interface endpoint security group." An interface endpoint
    is a network interface in the VPC, guarded by its security groups
    (`security_group_ids`, `aws_vpc_endpoint_security_group_association`; none given means
    the VPC's default security group, which admits only its own members). A node subnet
    is admitted by an inbound rule for TCP 443 (or a port range or protocol `-1` that
    includes it) from a CIDR containing the subnet's, or from a security group the nodes
    carry: their launch template's `vpc_security_group_ids`, the cluster security group
    for managed node groups without one and for Fargate, the node group's remote access
    security group. Rules come from inline `ingress` blocks, `aws_security_group_rule` and
    `aws_vpc_security_group_ingress_rule`. A rule containing every CIDR block of the VPC
    admits its subnets whatever their own CIDRs (a secondary association's block must be
    admitted too). In an IPv6 cluster (`kubernetes_network_config.ip_family = "ipv6"`)
    pods call the endpoints from the subnets' IPv6 CIDRs, which a CIDR rule must admit.

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

    resource "aws_vpc_endpoint" "ecr_api" {
      vpc_id              = aws_vpc.main.id
      service_name        = "com.amazonaws.eu-west-1.ecr.api"
      vpc_endpoint_type   = "Interface"
      private_dns_enabled = true
      subnet_ids          = aws_subnet.private[*].id
      # no security_group_ids: the VPC default security group admits nothing from nodes
    }
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_vpc_endpoint" "ecr_api" {
      security_group_ids = [aws_security_group.vpc_endpoints.id]
    }
    ```

    ```hcl
    # fix.tf
    resource "aws_security_group" "vpc_endpoints" {
      vpc_id = aws_vpc.main.id
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block]
      }
    }
    ```

    ## Bad: custom networking
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

    resource "aws_vpc_ipv4_cidr_block_association" "pods" {
      vpc_id     = aws_vpc.main.id
      cidr_block = "100.64.0.0/16"
    }

    resource "aws_subnet" "pods" {
      count             = 2
      vpc_id            = aws_vpc_ipv4_cidr_block_association.pods.vpc_id
      cidr_block        = cidrsubnet("100.64.0.0/16", 2, count.index)
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

    # Custom networking: pods get interfaces in the ENIConfig subnets ...
    resource "aws_eks_addon" "vpc_cni" {
      cluster_name = aws_eks_cluster.main.name
      addon_name   = "vpc-cni"
      configuration_values = jsonencode({
        env = {
          AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = "true"
          ENI_CONFIG_LABEL_DEF               = "topology.kubernetes.io/zone"
        }
      })
    }

    resource "kubernetes_manifest" "eniconfig" {
      for_each = { "eu-west-1a" = 0, "eu-west-1b" = 1 }
      manifest = {
        apiVersion = "crd.k8s.amazonaws.com/v1alpha1"
        kind       = "ENIConfig"
        metadata   = { name = each.key }
        spec = {
          subnet         = aws_subnet.pods[each.value].id
          securityGroups = [aws_security_group.pods.id]
        }
      }
    }

    resource "aws_security_group" "pods" {
      vpc_id = aws_vpc.main.id
    }

    # ... and call the endpoints from there: the primary block alone is not enough
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
    ```

    ## Good: custom networking
    ```hcl
    # fix_override.tf
    # pods call the endpoints from the ENIConfig subnets: admit the pod block too
    resource "aws_security_group" "vpc_endpoints" {
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block, aws_vpc_ipv4_cidr_block_association.pods.cidr_block]
      }
    }
    ```

    ## Bad: IPv6 cluster
    ```hcl
    resource "aws_vpc" "main" {
      cidr_block           = "10.0.0.0/16"
      ipv6_cidr_block      = "2001:db8:1200::/56"  # from an IPAM pool
      ipv6_ipam_pool_id    = var.ipv6_pool_id
      enable_dns_support   = true
      enable_dns_hostnames = true
    }

    resource "aws_subnet" "private" {
      count                           = 2
      vpc_id                          = aws_vpc.main.id
      cidr_block                      = cidrsubnet(aws_vpc.main.cidr_block, 4, count.index)
      ipv6_cidr_block                 = cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, count.index)
      assign_ipv6_address_on_creation = true
      availability_zone               = ["eu-west-1a", "eu-west-1b"][count.index]
    }

    resource "aws_eks_cluster" "main" {
      name     = "main"
      role_arn = aws_iam_role.cluster.arn
      vpc_config {
        subnet_ids              = aws_subnet.private[*].id
        endpoint_private_access = true
        endpoint_public_access  = false
      }
      kubernetes_network_config {
        ip_family = "ipv6"  # pods call the endpoints from the subnets' IPv6 CIDRs
      }
    }

    resource "aws_security_group" "vpc_endpoints" {
      vpc_id = aws_vpc.main.id
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = [aws_vpc.main.cidr_block]  # IPv4 only
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
    ```

    ## Good: IPv6 cluster
    ```hcl
    # fix_override.tf
    resource "aws_security_group" "vpc_endpoints" {
      ingress {
        from_port        = 443
        to_port          = 443
        protocol         = "tcp"
        cidr_blocks      = [aws_vpc.main.cidr_block]
        ipv6_cidr_blocks = [aws_vpc.main.ipv6_cidr_block]
      }
    }
    ```

    ## Remediation
    Add an ingress rule for TCP 443 from each node subnet's CIDR (or the VPC CIDR, or
    the nodes' security group) to the endpoint's security group; the finding's
    remediation is the rule.
    """
    net = network(ctx)
    served: dict[str, tuple[Endpoint, list[ClusterNetwork]]] = {}
    for vpc, clusters in sorted(cluster_vpcs(net).items()):
        for endpoint in net.endpoints_in(vpc):
            if endpoint.is_interface is True:
                served[endpoint.address] = (endpoint, list(clusters))
    central = centralised(ctx)
    for info in net.clusters:
        # hub endpoints a Route 53 zone serves to this cluster: they must admit it too
        services = [r.service for r in required_services(ctx, info)]
        for endpoint in central.endpoints_serving(info, services):
            users = served.setdefault(endpoint.address, (endpoint, []))[1]
            if all(u is not info for u in users):
                users.append(info)
    pods = pod_networking(ctx)
    admitted: dict[_AdmitsKey, tuple[bool | None, str]] = {}  # a VPC's endpoints share groups
    for address in sorted(served):
        endpoint, clusters = served[address]
        subnets = _node_subnets(clusters, pods)
        if not subnets:
            continue
        result = _ingress_verdict(net, endpoint, subnets, clusters, admitted)
        doubts = [d for info in clusters for d in pods.doubts.get(info.address, ())]
        if result.status is Status.PASS and doubts:
            result = Result.unknown(
                endpoint.resource, f"{endpoint.address} admits TCP 443 from every node "
                                   f"subnet, but pods may call it from other subnets: "
                                   f"{'; '.join(dict.fromkeys(doubts))}",
                evidence=result.evidence, data=result.data)
        yield about(result, clusters)


def _node_subnets(clusters: list[ClusterNetwork], pods: PodNetworking
                  ) -> dict[str, list[NodeSource]]:
    """Node subnets, and with VPC CNI custom networking the ENIConfig pod subnets."""
    found: dict[str, list[NodeSource]] = {}
    for info in clusters:
        for key, sources in info.node_subnets().items():
            found.setdefault(key, []).extend(sources)
        for source in pods.sources.get(info.address, ()):
            for key in source.subnets.keys:
                found.setdefault(key, []).append(source)
    return dict(sorted(found.items()))


# what `_admits` answers from: the groups, the subnet, its node sources, IPv6 or not
_AdmitsKey = tuple[tuple[str, ...], str, tuple[int, ...], bool]


def _ingress_verdict(net: Network, endpoint: Endpoint, subnets: dict[str, list[NodeSource]],
                     clusters: list[ClusterNetwork],
                     admitted: dict[_AdmitsKey, tuple[bool | None, str]]) -> Result:
    groups = [net.security_group(k) for k in endpoint.security_groups.keys]
    group_names = ", ".join(shown(g.key) for g in groups) or "none"
    evidence_base = (endpoint.address, *(g.key for g in groups))
    if endpoint.security_groups.unknown is not None and not groups:
        return Result.unknown(
            endpoint.resource, f"the security groups of {endpoint.address} are not known "
                               f"({explain(endpoint.security_groups.unknown, net.graph.kind)})",
            evidence=evidence_base, attribute="security_group_ids")
    refused: list[str] = []
    doubts: dict[str, list[str]] = {}  # why -> subnets
    admitted_by: list[str] = []
    ipv6 = {k for info in clusters if info.ipv6 is True for k in info.node_subnets()}
    group_keys = tuple(g.key for g in groups)
    for key, sources in subnets.items():
        asked = (group_keys, key, tuple(map(id, sources)), key in ipv6)
        if asked not in admitted:
            admitted[asked] = _admits(net, groups, net.subnet(key), sources, key in ipv6)
        verdict, why = admitted[asked]
        if verdict is True:
            admitted_by.append(why)
        elif verdict is None:
            doubts.setdefault(why, []).append(key)
        else:
            refused.append(key)
    undecided = [f"{', '.join(map(shown, keys))}: {why}" for why, keys in doubts.items()]
    if endpoint.security_groups.unknown is not None and refused:
        undecided.append(f"some security groups of {endpoint.address} are not known "
                         f"({explain(endpoint.security_groups.unknown, net.graph.kind)})")
        refused = []
    data = {"subnets_not_admitted": refused, "security_groups": [g.key for g in groups]}
    if refused:
        described = ", ".join(_describe_subnet(net.subnet(k)) for k in refused)
        default = (" (no security_group_ids: the VPC default security group, which admits "
                   "only its own members)" if endpoint.uses_default_security_group else "")
        if any(k in ipv6 and net.subnet(k).ipv6_cidr is not None for k in refused):
            described += (" for their IPv6 CIDRs (the cluster is IPv6: pods call the "
                          "endpoints from IPv6 addresses)")
        pods = sorted({s.membership for k in refused for s in subnets[k]
                       if s.kind == POD_SUBNETS})
        if pods:
            described += (f" (pod subnets of {', '.join(pods)}: with VPC CNI custom "
                          "networking pods call the endpoints from these subnets)")
        return Result.fail(
            endpoint.resource, f"{endpoint.address} ({endpoint.service}) admits no TCP 443 from "
                               f"node subnets {described}: its security groups "
                               f"{group_names}{default} have no matching ingress rule",
            remediation=_ingress_remediation(net, endpoint, groups, refused, subnets, ipv6),
            evidence=(*evidence_base, *refused), data=data,
            attribute="security_group_ids")
    if undecided:
        return Result.unknown(
            endpoint.resource, f"cannot tell whether {endpoint.address} admits TCP 443 from "
                               f"every node subnet: {'; '.join(undecided)}",
            evidence=evidence_base, data=data)
    return Result.passed(
        endpoint.resource, f"{endpoint.address} admits TCP 443 from every node subnet "
                           f"({'; '.join(dict.fromkeys(admitted_by))})",
        evidence=evidence_base, data=data)


def _admits(net: Network, groups: list[SecurityGroup], subnet: Subnet,
            sources: list[NodeSource], ipv6: bool = False) -> tuple[bool | None, str]:
    """Whether the groups admit TCP 443 from every node of the subnet, and by which rule.

    `ipv6`: the subnet's cluster is IPv6, so a CIDR rule must admit its IPv6 CIDR.
    """
    rules = [r for g in groups for r in g.ingress]
    cidr = known_cidr(subnet)
    doubts: list[str] = []
    by_ipv6 = ipv6 and subnet.ipv6_cidr is not None
    blocks: tuple[IPNetwork, ...] = ()
    blocks_doubt: str | None = None
    if by_ipv6:
        admitted = _ipv6_admits(net, rules, subnet, doubts)
    else:
        if cidr is None and any(r.cidrs for r in rules):
            blocks, blocks_doubt = net.blocks_holding(subnet)
        admitted = _cidr_admits(rules, subnet, blocks, doubts)
    if admitted is not None:
        return True, admitted
    # else every node source in the subnet must carry an admitted security group
    per_source: list[bool | None] = []
    admitted_hop = ""
    for source in sources:
        carried = set(source.security_groups.keys)
        found: bool | None = False
        for rule in rules:
            ports = rule.allows_tcp(HTTPS)
            if ports is False or not carried & set(rule.peers):
                continue
            if ports is True:
                found = True
                peers = sorted(carried & set(rule.peers))
                admitted_hop = f"{rule.hop} from {', '.join(map(shown, peers))}"
                break
            found = None
        if found is False and source.security_groups.unknown is not None:
            found = None
            doubts.append(f"the security groups of {source.address} are not known "
                          f"({explain(source.security_groups.unknown, net.graph.kind)})")
        ssh_sources = set(source.remote_access_sources)
        if found is False and any(ssh_sources & set(r.peers) for r in rules
                                  if r.allows_tcp(HTTPS) is not False):
            found = None
            doubts.append(
                f"an ingress rule admits {', '.join(map(shown, sorted(ssh_sources)))}, the "
                f"remote access "
                f"source group of {source.address}; its nodes carry the remote access group "
                "EKS creates (resources[0].remote_access_security_group_id), not the source")
        per_source.append(found)
    if per_source and all(v is True for v in per_source):
        return True, admitted_hop
    for rule in rules:
        if rule.allows_tcp(HTTPS) is not False and rule.unknown is not None:
            doubts.append(f"a source of {rule.declared_by} is not known "
                          f"({explain(rule.unknown, net.graph.kind)})")
        if rule.allows_tcp(HTTPS) is None:
            doubts.append(f"the protocol or ports of {rule.declared_by} are not known")
    if cidr is None and not by_ipv6 and any(r.cidrs or r.blocks_of for r in rules):
        doubts.append(_cidr_doubt(net, subnet, blocks, blocks_doubt))
    for rule in rules:
        for key in rule.blocks_of:
            if (key in (subnet.carved_from, subnet.key) or key in net.subnets
                    or key.endswith(IPV6_SUFFIX)):
                continue  # another subnet's CIDR, or an IPv6 block: no doubt on this one
            vpc = net.vpc(key)
            why = (f" ({explain(vpc.cidr_unknown, net.graph.kind)})"
                   if vpc is not None and vpc.cidr_unknown is not None else "")
            doubts.append(f"{rule.declared_by} admits the CIDR block of {key}, which is not "
                          f"known{why}")
    for group in groups:
        if not group.complete:
            doubts.append(f"{group.key} is not in the input, so its rules cannot be read")
        elif group.unknown is not None:
            doubts.append(f"the inline rules of {group.key} are not known "
                          f"({explain(group.unknown, net.graph.kind)})")
        doubts.extend(group.undecided("ingress"))
    if doubts:
        return None, "; ".join(dict.fromkeys(doubts))
    return False, ""


def _cidr_admits(rules: list[Rule], subnet: Subnet, blocks: tuple[IPNetwork, ...],
                 doubts: list[str]) -> str | None:
    """The rule whose IPv4 CIDR admits the subnet, described; None where none is known to.

    A CIDR containing the subnet's admits every node in it; where the subnet's CIDR is
    not known, one containing every VPC block that may hold it does, and so does one
    naming the subnet's own CIDR or the block it is carved from.
    """
    cidr = known_cidr(subnet)
    for rule in rules:
        ports = rule.allows_tcp(HTTPS)
        if ports is False:
            continue
        if cidr is not None and any(covers(c, cidr) for c in rule.cidrs):
            why = f"{rule.hop} from {', '.join(map(shown, rule.cidrs))}"
        elif blocks and all(any(covers(c, b) for c in rule.cidrs) for b in blocks):
            why = (f"{rule.hop} from {', '.join(map(shown, rule.cidrs))}, which holds every "
                   f"subnet of {subnet.vpc.keys[0]} ({', '.join(map(shown, blocks))})")
        elif cidr is None and subnet.key in rule.blocks_of:
            why = f"{rule.hop} from the CIDRs of the node subnets themselves"
        elif cidr is None and subnet.carved_from in rule.blocks_of:
            # `cidr_blocks = [data.aws_vpc.x.cidr_block]` and a subnet carved from that
            # block: admitted, whatever the block turns out to be
            why = (f"{rule.hop} from the CIDR block of {subnet.carved_from}, which the "
                   f"subnets are carved from")
        else:
            continue
        if ports is True:
            return why
        doubts.append(f"the ports of {rule.declared_by} are not known before apply")
    return None


def _ipv6_admits(net: Network, rules: list[Rule], subnet: Subnet, doubts: list[str]
                 ) -> str | None:
    """The rule admitting the subnet's IPv6 CIDR (an IPv6 cluster's pods), described."""
    cidr = subnet.ipv6_cidr
    named = {subnet.key + IPV6_SUFFIX}
    if subnet.ipv6_carved_from is not None:
        named.add(subnet.ipv6_carved_from + IPV6_SUFFIX)
    for rule in rules:
        ports = rule.allows_tcp(HTTPS)
        if ports is False:
            continue
        if cidr is not None and not isinstance(cidr, Unknown) and any(
                covers(c, cidr) for c in rule.cidrs):
            why = f"{rule.hop} from {', '.join(map(shown, rule.cidrs))} (IPv6)"
        elif named & set(rule.blocks_of):
            why = f"{rule.hop} from the IPv6 block the subnets are carved from"
        else:
            continue
        if ports is True:
            return why
        doubts.append(f"the ports of {rule.declared_by} are not known before apply")
    if isinstance(cidr, Unknown) and any(
            any(c.version == 6 for c in r.cidrs) or any(b.endswith(IPV6_SUFFIX)
                                                       for b in r.blocks_of)
            for r in rules):
        doubts.append(f"the IPv6 CIDR of {subnet.key} is not known "
                      f"({explain(cidr, net.graph.kind)})")
    return None


def _cidr_doubt(net: Network, subnet: Subnet, blocks: tuple[IPNetwork, ...],
                blocks_doubt: str | None) -> str:
    """Why no CIDR rule is known to admit a subnet whose own CIDR is not known."""
    if subnet.resource is None:
        return f"the CIDR of {subnet.key} is not known (the subnet is not in the input)"
    why = (f"the CIDR of {subnet.key} is not known ({explain(subnet.cidr, net.graph.kind)})"
           if isinstance(subnet.cidr, Unknown) else f"the CIDR of {subnet.key} is not known")
    if blocks_doubt is not None:
        return f"{why}, and {blocks_doubt}"
    if blocks:
        return (f"{why}, and no rule admits every CIDR block of its VPC "
                f"({', '.join(map(shown, blocks))})")
    return why


def _describe_subnet(subnet: Subnet) -> str:
    cidr = known_cidr(subnet)
    return shown(subnet.key) if cidr is None else f"{subnet.key} ({cidr})"


def _ingress_remediation(net: Network, endpoint: Endpoint, groups: list[SecurityGroup],
                         refused: list[str], subnets: dict[str, list[NodeSource]],
                         ipv6: set[str]) -> str:
    target = next((g for g in groups if g.resource is not None and not g.resource.is_data),
                  None)
    blocks: list[Item] = []
    if target is None:
        vpc = endpoint.vpc.keys[0] if endpoint.vpc.keys else "vpc-REPLACE_ME"
        blocks.append(block("resource", "aws_security_group", "vpc_endpoints", body=attributes(
            name_prefix="vpc-endpoints-", vpc_id=hcl_reference(net, vpc))))
        blocks.append(Comment(f"and in {endpoint.address}:\n"
                              "  security_group_ids = [aws_security_group.vpc_endpoints.id]"))
        group_ref: Value = Reference("aws_security_group.vpc_endpoints.id")
    else:
        group_ref = uncommented(hcl_reference(net, target.key))
    rules: list[Item] = []
    for key in refused:
        subnet = net.subnet(key)
        name = "https_from_" + "".join(c if c.isalnum() else "_" for c in
                                       key.split(".", 1)[-1]).strip("_")
        source: Attribute
        if subnet.resource is not None and key in ipv6 and subnet.ipv6_cidr is not None:
            source = Attribute("cidr_ipv6", hcl_reference(net, key, "ipv6_cidr_block"))
        elif subnet.resource is not None:
            source = Attribute("cidr_ipv4", hcl_reference(net, key, "cidr_block"))
        elif known_cidr(subnet) is not None:
            source = Attribute("cidr_ipv4", Literal(str(subnet.cidr)))
        else:
            carried = [k for s in subnets.get(key, []) for k in s.security_groups.keys]
            peer = hcl_reference(net, carried[0]) if carried else Literal("sg-NODES")
            source = Attribute("referenced_security_group_id", uncommented(peer))
        rules.append(block("resource", "aws_vpc_security_group_ingress_rule", name, body=(
            Attribute("security_group_id", group_ref), source,
            *attributes(ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS))))
    if blocks and rules:
        blocks.append(BLANK)
    return render(*blocks, *separated(rules))



POLICIES = (endpoint_sg_ingress,)
