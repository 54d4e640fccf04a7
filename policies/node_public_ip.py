"""PC202 node-public-ip: nodes get no public IP address."""

from __future__ import annotations

from collections.abc import Iterator

from tfcheck.facts import hcl_snippets as hcl
from tfcheck.facts.wording import node_subnet
from tfcheck.model import Resource, Severity, Unknown, reveal
from tfcheck.network import (
    FARGATE_PROFILE,
    Network,
    NodeSource,
    Subnet,
    about,
    iter_node_subnets,
    network,
)
from tfcheck.policy import Result, ScanContext, policy
from tfcheck.unknowns import explain, managed_elsewhere

from .support import (
    PRIVATE_CLUSTERS_GUIDE,
    node_subnet_subjects,
    unknown_node_subnets,
)


@policy(
    id="PC202",
    slug="node-public-ip",
    severity=Severity.HIGH,
    title="Nodes get no public IP address",
    docs_url=PRIVATE_CLUSTERS_GUIDE,
)
def node_public_ip(ctx: ScanContext) -> Iterator[Result]:
    """Nodes of a private cluster get no public IP: node subnets and launch templates say so.

    ## Why
    The EKS user guide's private cluster runs "without outbound internet access". A
    node subnet with `map_public_ip_on_launch = true`, or a launch template with
    `network_interfaces { associate_public_ip_address = true }`, gives nodes public
    addresses: with an internet gateway route they are reachable from and can reach
    the internet, and even without one the intent of the configuration is not private.
    Fargate pods never get public IPs, so subnets used only by Fargate profiles are not
    checked. A launch template that sets `associate_public_ip_address = false` wins
    over the subnet's default for its nodes.

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

      map_public_ip_on_launch = true
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
    ```

    ## Good
    ```hcl
    # fix_override.tf
    resource "aws_subnet" "private" {
      map_public_ip_on_launch = false # the default
    }
    ```

    ## Remediation
    Set `map_public_ip_on_launch = false` (or remove it) on node subnets, and remove
    `associate_public_ip_address = true` from the node launch templates' network
    interfaces.
    """
    net = network(ctx)
    for subnet_key, owners in iter_node_subnets(net):
        subnet = net.subnet(subnet_key)
        sources = [s for info in owners for s in info.node_subnets().get(subnet_key, ())]
        ec2_sources = [s for s in sources if s.kind != FARGATE_PROFILE]
        if not ec2_sources:
            continue  # Fargate pods never get a public IP
        for subject in node_subnet_subjects(subnet, owners):
            yield about(_subnet_public_ip(net, subnet, ec2_sources, subject), owners)
    yield from unknown_node_subnets(net, "whether they map public IPs on launch",
                                     fargate=False)
    seen: set[str] = set()
    for info in net.clusters:
        for source in info.nodes:
            template = source.launch_template
            if template is None or template.address in seen:
                continue
            seen.add(template.address)
            result = _template_public_ip(net, template, source)
            if result is not None:
                yield about(result, [info])


def _subnet_public_ip(net: Network, subnet: Subnet, sources: list[NodeSource],
                      subject: Resource) -> Result:
    data = {"subnet": subnet.key}
    identity = ("subnet", subnet.key)
    users = ", ".join(dict.fromkeys(s.address for s in sources))
    value = subnet.map_public_ip
    if subnet.resource is None:
        return Result.unknown(
            subject, f"node subnet {subnet.key} is not in the input: cannot tell whether "
                     f"it maps public IPs on launch; {managed_elsewhere(subnet.key)}",
            data=data, identity=identity, evidence=(subject.address, subnet.key))
    if isinstance(value, Unknown):
        return Result.unknown(
            subject, f"map_public_ip_on_launch of {node_subnet(subnet)} is not known "
                     f"({explain(value, net.graph.kind)})", data=data, identity=identity,
            attribute="map_public_ip_on_launch")
    if value is not True:
        return Result.passed(subject, f"{node_subnet(subnet)} does not map public IPs on "
                                      f"launch (used by {users})", data=data, identity=identity)
    overriding = [s for s in sources if _template_sets_public_ip(s.launch_template) is False]
    if len(overriding) == len(sources):
        return Result.passed(
            subject, f"{node_subnet(subnet)} maps public IPs on launch, but every node "
                     f"launch template in it sets associate_public_ip_address = false",
            data=data, identity=identity)
    return Result.fail(
        subject, f"{node_subnet(subnet)} has map_public_ip_on_launch = true: nodes of "
                 f"{users} get public IP addresses",
        remediation=hcl.render(hcl.Comment(f"in {subnet.key}"),
                               hcl.Attribute("map_public_ip_on_launch", hcl.Literal(False))),
        evidence=(*dict.fromkeys(s.address for s in sources), subnet.key), data=data,
        identity=identity,
        attribute="map_public_ip_on_launch")


def _template_sets_public_ip(template: Resource | None) -> bool | Unknown | None:
    """True/False where a launch template (or configuration) sets the public IP; else None."""
    if template is None:
        return None
    if template.type == "aws_launch_configuration":
        value = template.get("associate_public_ip_address")
        if isinstance(value, Unknown) and not template.sets("associate_public_ip_address"):
            return None
        return _truth(value)
    found: bool | Unknown | None = None
    interfaces = template.blocks("network_interfaces")
    if isinstance(interfaces, Unknown):
        return interfaces if template.sets("network_interfaces") else None
    for block in interfaces:
        value = _truth(block.get("associate_public_ip_address"))
        if value is True or isinstance(value, Unknown):
            return value
        if value is False:
            found = False
    return found


def _truth(value: object) -> bool | Unknown | None:
    value = reveal(value)
    if isinstance(value, (bool, Unknown)):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _template_public_ip(net: Network, template: Resource, source: NodeSource
                        ) -> Result | None:
    value = _template_sets_public_ip(template)
    attribute = ("associate_public_ip_address" if template.type == "aws_launch_configuration"
                 else "network_interfaces.associate_public_ip_address")
    if isinstance(value, Unknown):
        return Result.unknown(
            template, f"{attribute} of {template.address} (used by {source.address}) is not "
                      f"known ({explain(value, net.graph.kind)})", attribute=attribute)
    if value is True:
        return Result.fail(
            template, f"{template.address} sets {attribute} = true: nodes of "
                      f"{source.address} get public IP addresses",
            remediation=hcl.render(hcl.Comment(f"in {template.address}"), hcl.block(
                "network_interfaces", body=hcl.attributes(associate_public_ip_address=False))
                if template.type == "aws_launch_template"
                else hcl.Attribute("associate_public_ip_address", hcl.Literal(False))),
            evidence=(source.address, template.address), attribute=attribute)
    return None


POLICIES = (node_public_ip,)
