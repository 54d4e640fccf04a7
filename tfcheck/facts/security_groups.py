"""Security groups and their rules: what each group lets in and out.

Reads `aws_security_group` inline rules and the separate rule resources
(`aws_security_group_rule`, `aws_vpc_security_group_*_rule`) onto their groups, with
peers and CIDRs resolved, and keeps a rule whose group cannot be told undecided.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from tfcheck.facts.linking import (
    SG_TYPES,
    SUBNET_TYPES,
    VPC_TYPES,
    Linker,
)
from tfcheck.facts.records import (
    Rule,
    SecurityGroup,
)
from tfcheck.facts.vocabulary import (
    CLUSTER_SG,
    DEFAULT_SG,
    EMPTY,
    IPV6_SUFFIX,
    IPNetwork,
    Link,
    first_unknown,
    flag_value,
    input_value,
    int_value,
    ip_network_of,
    ip_networks_of,
    leaves_of,
    pseudo_key,
    read_blocks,
    text_value,
)
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.unknowns import (
    one_of_instances,
    written_in_tf_files,
)
from tfcheck.workloads import walk_values

_ALL_ADDRESSES: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("0.0.0.0/0"),
    ipaddress.ip_network("::/0"),
)

_PREFIX_LIST_TYPES = ("aws_vpc_endpoint", "aws_prefix_list", "aws_ec2_managed_prefix_list")

_SG_REF_TYPES = (*SG_TYPES, "aws_eks_cluster", "aws_eks_node_group", *VPC_TYPES)



def add_security_groups(b: Linker) -> None:
    net = b.net
    graph = b.graph
    for group in graph.resources("aws_default_security_group"):
        for owner in b.link(group, "vpc_id", group.get("vpc_id"), b.vpc_map).keys:
            b.alias[pseudo_key(owner, DEFAULT_SG)] = group.address
    for group in graph.resources(*SG_TYPES):
        vpc_link = b.link(group, "vpc_id", group.get("vpc_id"), b.vpc_map)
        record = SecurityGroup(group.address, group, vpc_link, complete=not group.is_data)
        net.security_groups[group.address] = record
        if group.is_data:
            continue
        for direction in ("ingress", "egress"):
            blocks = group.get(direction)
            blocks = reveal(blocks)
            if isinstance(blocks, Unknown):
                record.unknown = blocks
                continue
            parsed = read_blocks(blocks)
            for block in parsed:
                rules = getattr(record, direction)
                rules.append(_inline_rule(b, group, direction, block, len(parsed)))
    # what AWS creates: the EKS cluster SG (all from itself in, all out), the VPC
    # default SG (all from itself in, all out) where no aws_default_security_group
    for cluster in b.clusters:
        key = pseudo_key(cluster.address, CLUSTER_SG)
        record = SecurityGroup(key, None, EMPTY)
        record.ingress.append(_aws_rule("ingress", key, "created by EKS", peers=(key,)))
        record.egress.append(_aws_rule("egress", key, "created by EKS",
                                       cidrs=_ALL_ADDRESSES))
        net.security_groups[key] = record
    for vpc_record in list(net.vpcs.values()):
        key = pseudo_key(vpc_record.key, DEFAULT_SG)
        if b.canonical(key) != key:
            continue
        record = SecurityGroup(key, None, Link((vpc_record.key,)),
                               complete=vpc_record.managed)
        record.ingress.append(_aws_rule("ingress", key, "AWS default", peers=(key,)))
        record.egress.append(_aws_rule("egress", key, "AWS default", cidrs=_ALL_ADDRESSES))
        net.security_groups[key] = record
    for rule in graph.managed("aws_security_group_rule"):
        _rule_resource(b, rule, text_value(rule.get("type")), "protocol",
                            "source_security_group_id", "prefix_list_ids",
                            ("cidr_blocks", "ipv6_cidr_blocks"))
    for rule in graph.managed("aws_vpc_security_group_ingress_rule"):
        _rule_resource(b, rule, "ingress", "ip_protocol", "referenced_security_group_id",
                            "prefix_list_id", ("cidr_ipv4", "cidr_ipv6"))
    for rule in graph.managed("aws_vpc_security_group_egress_rule"):
        _rule_resource(b, rule, "egress", "ip_protocol", "referenced_security_group_id",
                            "prefix_list_id", ("cidr_ipv4", "cidr_ipv6"))

def _inline_rule(b: Linker, group: Resource, direction: str, block: Mapping[str, Any],
                 siblings: int) -> Rule:
    protocol = _protocol(block.get("protocol"))
    cidrs: list[IPNetwork] = []
    blocks_of: list[str] = []
    unknown: Unknown | None = None
    for attribute, family in (("cidr_blocks", "cidr_block"),
                              ("ipv6_cidr_blocks", "ipv6_cidr_block")):
        found, unknown_cidrs = ip_networks_of(block.get(attribute))
        cidrs.extend(found)
        if unknown_cidrs:
            inferred = _cidrs_from_references(b, group, direction, unknown_cidrs,
                                                   siblings, family)
            if inferred is None or isinstance(inferred, Unknown):
                unknown = first_unknown(unknown, inferred, unknown_cidrs[0])
            else:
                cidrs.extend(inferred[0])
                blocks_of.extend(inferred[1])
    peers_link = _inline_peers(b, group, direction, block.get("security_groups"), siblings)
    peers = list(peers_link.keys)
    if flag_value(block.get("self")) is True:
        peers.append(group.address)
    prefix_known, prefix_unknown = leaves_of(block.get("prefix_list_ids"))
    prefix_lists = [_prefix_key(b, p) for p in prefix_known if isinstance(p, str) and p]
    if prefix_unknown:
        refs = b.graph.references(group, direction, *_PREFIX_LIST_TYPES)
        prefix_lists.extend(b.prefix_list_map[r.type](r) or r.address for r in refs)
        if refs:
            prefix_unknown = []
    unknown = first_unknown(peers_link.unknown, unknown)
    if prefix_unknown:
        unknown = first_unknown(unknown, prefix_unknown[0])
    return Rule(direction, b.canonical(group.address), f"{group.address} {direction}",
                protocol, int_value(block.get("from_port")), int_value(block.get("to_port")),
                tuple(cidrs), tuple(dict.fromkeys(peers)), tuple(prefix_lists), unknown,
                tuple(dict.fromkeys(blocks_of)))

def _inline_peers(b: Linker, group: Resource, direction: str, value: Any, siblings: int) -> Link:
    known, unknown = leaves_of(value)
    keys = [b.canonical(b.by_id.get(s, s)) for s in known if isinstance(s, str) and s]
    if not unknown:
        return Link(tuple(dict.fromkeys(keys)))
    # a plan records references per attribute, not per inline block: take the
    # unknown's own references where the loader has them, else the attribute's
    refs = b._resources_named(unknown[0].references, _SG_REF_TYPES)
    if not refs:
        # several blocks with unknown groups: each gets them all (over-approximates)
        refs = b.graph.references(group, direction, *_SG_REF_TYPES)
    mapping = b.sg_map
    for ref in refs:
        key = mapping[ref.type](ref)
        if key is not None:
            keys.append(b.canonical(key))
    return Link(tuple(dict.fromkeys(keys)), None if refs else unknown[0])

def _cidrs_from_references(b: Linker, source: Resource, attribute: str,
                           unknown: list[Unknown], siblings: int, family: str = "cidr_block"
                           ) -> tuple[list[IPNetwork], list[str]] | Unknown | None:
    """CIDRs written as `aws_vpc.main.cidr_block` / `aws_subnet.x[*].cidr_block`.

    `family` is the attribute the references read (`ipv6_cidr_block` for IPv6
    sources). A VPC or subnet whose IPv4 CIDR the input cannot give is returned by
    key: the rule admits that VPC's primary block, that subnet, whatever it is. An
    `Unknown` where the answer is in the .tf files that are not beside the plan.
    """
    refs = b._resources_named(unknown[0].references, (*VPC_TYPES, *SUBNET_TYPES))
    own = bool(refs)
    if not refs and siblings <= 1:
        refs = b.graph.references(source, attribute, *VPC_TYPES, *SUBNET_TYPES)
    found: list[IPNetwork] = []
    blocks: list[str] = []
    for ref in refs:
        cidr = ip_network_of(b._read(ref, family))
        if isinstance(cidr, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            found.append(cidr)
        elif family == "cidr_block":
            blocks.append(ref.address)  # that VPC's primary block, that subnet's CIDR
        elif family == "ipv6_cidr_block" and isinstance(cidr, Unknown):
            if ref.type in VPC_TYPES and not _written_as_vpc_ipv6_block(b, source, ref):
                if b.graph.kind == "plan" and b.graph.configuration is None:
                    return written_in_tf_files(
                        f"whether {source.address} admits the whole IPv6 block of "
                        f"{ref.address} or a part of it", (ref.address,))
                return None
            blocks.append(ref.address + IPV6_SUFFIX)  # assigned by AWS at apply
        elif own and cidr is None and _names_vpc_ipv6_block(b, source, ref, unknown):
            blocks.append(ref.address + IPV6_SUFFIX)  # likewise, as HCL reads it
        else:
            return None
    return (found, blocks) if found or blocks else None


def _names_vpc_ipv6_block(b: Linker, source: Resource, vpc: Resource,
                          unknown: list[Unknown]) -> bool:
    """Whether every unknown CIDR is, as written, `<this VPC>.ipv6_cidr_block` itself.

    HCL holds no value for a VPC's IPv6 block (AWS assigns it at apply), so only the
    expression can say what a rule admits: the block itself (which holds every IPv6
    subnet carved from it), not a value computed from it (`cidrsubnet(...)`). The
    evaluator keeps a list item's expression text in `partial` (as written in the
    rule's module); without it, undecided.
    """
    if (b.graph.kind != "hcl" or vpc.is_data or vpc.type not in VPC_TYPES
            or vpc.module != source.module):
        return False
    written = _bare_ipv6_block(vpc)
    return all(u.partial == written and u.references == (vpc.address,) for u in unknown)


def _bare_ipv6_block(vpc: Resource) -> str:
    """`${aws_vpc.main.ipv6_cidr_block}`: the block itself, as its own module writes it."""
    local = vpc.address[len(vpc.module) + 1:] if vpc.module else vpc.address
    return "${" + local + ".ipv6_cidr_block}"

def _written_as_vpc_ipv6_block(b: Linker, source: Resource, vpc: Resource) -> bool:
    """Whether the .tf text names the VPC's IPv6 block itself wherever `source` reads it.

    A plan records only an expression's references: `aws_vpc.main.ipv6_cidr_block`
    and `cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 200)` (one /64 of it) read the
    same there, and the second admits no node subnet. Only the configuration's text
    (beside the plan, or the HCL scanned) tells them apart; without it, undecided.
    """
    configuration = b.graph if b.graph.kind == "hcl" else b.graph.configuration
    if configuration is None:
        return False
    written, own_vpc = configuration.get(source.address), configuration.get(vpc.address)
    if written is None or own_vpc is None:
        return False
    exact = _bare_ipv6_block(vpc)
    leaves = ((path, reveal(value)) for path, value in walk_values(written.values))
    naming = [u for path, u in leaves
              if isinstance(u, Unknown) and vpc.address in u.references and "ipv6" in path]
    return bool(naming) and all(u.partial == exact for u in naming)


def _prefix_key(b: Linker, identifier: str) -> str:
    return b.canonical(b.by_id.get(identifier, identifier))

def _rule_resource(b: Linker, rule: Resource, direction: str | Unknown | None,
                   protocol_attribute: str, peer_attribute: str, prefix_attribute: str,
                   cidr_attributes: tuple[str, ...]) -> None:
    groups = b.link(rule, "security_group_id", rule.get("security_group_id"),
                       b.sg_map)
    if not isinstance(direction, str) or direction not in ("ingress", "egress"):
        return
    if not groups.keys:
        _rule_of_one_of(b, rule, direction)
    cidrs: list[IPNetwork] = []
    blocks_of: list[str] = []
    unknown: Unknown | None = None
    for attribute in cidr_attributes:
        found, missing = ip_networks_of(input_value(rule, attribute))
        cidrs.extend(found)
        if missing:
            family = "ipv6_cidr_block" if "ipv6" in attribute else "cidr_block"
            inferred = _cidrs_from_references(b, rule, attribute, missing, 1, family)
            if inferred is None or isinstance(inferred, Unknown):
                unknown = first_unknown(unknown, inferred, missing[0])
            else:
                cidrs.extend(inferred[0])
                blocks_of.extend(inferred[1])
    peers = b.link(rule, peer_attribute, input_value(rule, peer_attribute), b.sg_map)
    prefixes = b.link(rule, prefix_attribute, input_value(rule, prefix_attribute),
                         b.prefix_list_map)
    unknown = first_unknown(unknown, peers.unknown, prefixes.unknown)
    peer_keys = list(peers.keys)
    if flag_value(input_value(rule, "self")) is True:
        peer_keys.extend(groups.keys)
    from_port = int_value(input_value(rule, "from_port"))
    to_port = int_value(input_value(rule, "to_port"))
    protocol = _protocol(rule.get(protocol_attribute))
    for key in groups.keys:
        record = b.net.security_group(key)
        parsed = Rule(direction, key, rule.address, protocol, from_port, to_port,
                      tuple(cidrs), tuple(dict.fromkeys(peer_keys)),
                      tuple(dict.fromkeys(b.canonical(p) for p in prefixes.keys)),
                      unknown, tuple(dict.fromkeys(blocks_of)))
        (record.ingress if direction == "ingress" else record.egress).append(parsed)

def _rule_of_one_of(b: Linker, rule: Resource, direction: str) -> None:
    """Mark every group a rule may belong to (a block-level edge) as not fully read.

    Attaching the rule to one of them would be a guess, and to none a false `fail`:
    its candidates' `direction` rules stay undecided, once per rule block.
    """
    mapping = b.sg_map
    for block, instances in b.graph.block_references(rule, "security_group_id"):
        why = one_of_instances(f"{rule.config_address}.security_group_id", block,
                               b.graph.configuration is not None)
        for address in instances:
            target = b.graph.get(address)
            key = mapping[target.type](target) if (
                target is not None and target.type in mapping) else None
            record = b.net.security_groups.get(b.canonical(key)) if key else None
            if record is not None:
                record.open_rules.setdefault((direction, rule.config_address), why)

# -- endpoints ------------------------------------------------------------------


def _aws_rule(direction: str, key: str, what: str, *, peers: tuple[str, ...] = (),
              cidrs: tuple[IPNetwork, ...] = ()) -> Rule:
    return Rule(direction, key, f"{key} rule {what}", "-1", None, None, cidrs, peers)


def _protocol(value: Any) -> str | Unknown:
    text = text_value(value)
    if isinstance(text, Unknown):
        return text
    if text is None:
        return "-1"
    lowered = text.strip().lower()
    return {"all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6",
            "-1": "-1"}.get(lowered, lowered)
