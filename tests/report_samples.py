"""Hand-built reports for the renderer tests: realistic findings without the engine.

Paths are POSIX absolute under a repository at /repo, so that repo-relative paths
are exact without touching the file system.
"""

from __future__ import annotations

from tfcheck.model import (
    Finding,
    InputError,
    InternalError,
    Location,
    Report,
    RuleInfo,
    ScannedInput,
    Severity,
    Status,
)

REPO = "/repo"
HCL_ROOT = "/repo/infra/prod"
PLAN = "/repo/plans/plan.json"

PC301_DOC = """\
Every AWS service the nodes call has a VPC endpoint in the cluster's VPC.

## Why
Nodes without internet access reach ECR, EC2 and S3 only through VPC endpoints.

## Bad
```hcl
resource "aws_vpc" "main" {}
```

## Good
```hcl
resource "aws_vpc_endpoint" "ecr_dkr" {
  service_name      = "com.amazonaws.eu-west-1.ecr.dkr"
  vpc_endpoint_type = "Interface"
}
```

## Remediation
Add an interface endpoint for the service."""

RULES = [
    RuleInfo("PC101", "cluster-private-endpoint", Severity.HIGH,
             "Cluster API endpoint has private access enabled",
             "Nodes reach the API server only through its private endpoint.\n\n## Why\nSeed.",
             "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"),
    RuleInfo("PC102", "cluster-public-endpoint", Severity.MEDIUM,
             "Cluster API endpoint is not publicly reachable", "", ""),
    RuleInfo("PC201", "node-subnet-internet-route", Severity.HIGH,
             "Node subnets have no default route to the internet",
             "Node subnets route nothing to the internet.\n\n## Why\nPrivate.", ""),
    RuleInfo("PC301", "missing-vpc-endpoint", Severity.HIGH,
             "Every service the cluster needs has a VPC endpoint", PC301_DOC,
             "https://docs.aws.amazon.com/eks/latest/userguide/private-clusters.html"),
    RuleInfo("PC304", "endpoint-subnet-coverage", Severity.MEDIUM,
             "Interface endpoints cover every node AZ", "Endpoints in every AZ.", ""),
]

CLUSTER = "aws_eks_cluster.this"
SUBNET = 'aws_subnet.private["a"]'
ENDPOINT_REMEDIATION = (
    'resource "aws_vpc_endpoint" "ecr_dkr" {\n'
    "  vpc_id              = aws_vpc.main.id\n"
    '  service_name        = "com.amazonaws.eu-west-1.ecr.dkr"\n'
    '  vpc_endpoint_type   = "Interface"\n'
    "  private_dns_enabled = true\n"
    "}"
)


def pc301(service: str, line: int = 12) -> Finding:
    return Finding(
        rule_id="PC301", slug="missing-vpc-endpoint", severity=Severity.HIGH,
        status=Status.FAIL, address=CLUSTER,
        message=f"no {service} VPC endpoint in vpc aws_vpc.main",
        remediation=ENDPOINT_REMEDIATION.replace("ecr.dkr", service)
        .replace("ecr_dkr", service.replace(".", "_")),
        location=Location("main.tf", line), evidence=(CLUSTER, "aws_vpc.main"),
        data={"service": service, "required_by": ["aws_eks_node_group.default"]},
        identity=f"service={service}",
        input_path=HCL_ROOT, source_root=HCL_ROOT,
    )


PC201 = Finding(
    rule_id="PC201", slug="node-subnet-internet-route", severity=Severity.HIGH,
    status=Status.FAIL, address=SUBNET,
    message="node subnet routes 0.0.0.0/0 to aws_nat_gateway.this via aws_route_table.private",
    remediation='remove resource "aws_route" "nat"',
    location=Location("network.tf", 40),
    evidence=(CLUSTER, SUBNET, "aws_route_table.private", "aws_route.nat (0.0.0.0/0)",
              "aws_nat_gateway.this"),
    data={"route_table": "aws_route_table.private", "destination": "0.0.0.0/0",
          "target": "aws_nat_gateway.this"},
    identity="route_table=aws_route_table.private",
    input_path=HCL_ROOT, source_root=HCL_ROOT,
)

PC102_SUPPRESSED = Finding(
    rule_id="PC102", slug="cluster-public-endpoint", severity=Severity.MEDIUM,
    status=Status.FAIL, address=CLUSTER,
    message="the public API endpoint is on, restricted to 203.0.113.0/24",
    remediation="vpc_config {\n  endpoint_public_access = false\n}",
    location=Location("main.tf", 12), suppressed=True,
    suppression_reason="CI runners | need <public> access, until: Q3 & 100%",
    input_path=HCL_ROOT, source_root=HCL_ROOT,
)

PC101_UNKNOWN = Finding(
    rule_id="PC101", slug="cluster-private-endpoint", severity=Severity.HIGH,
    status=Status.UNKNOWN, address="module.eks.aws_eks_cluster.this[0]",
    message="vpc_config.endpoint_private_access is not known before apply "
            "(var.private: 50% of <clusters>, see: docs)\nrun on a plan\x07",
    input_path=PLAN, source_root=None,
)

PC304_NO_FILE = Finding(
    rule_id="PC304", slug="endpoint-subnet-coverage", severity=Severity.MEDIUM,
    status=Status.FAIL, address="module.vpc.aws_vpc_endpoint.ecr_api",
    message="no ENI in eu-west-1c, where aws_subnet.private[\"c\"] holds nodes",
    evidence=("module.eks.aws_eks_cluster.this[0]", "module.vpc.aws_vpc_endpoint.ecr_api"),
    data={"missing_azs": ["eu-west-1c"]},
    input_path=PLAN, source_root=None,
)

PC101_PASS = Finding(
    rule_id="PC101", slug="cluster-private-endpoint", severity=Severity.HIGH,
    status=Status.PASS, address=CLUSTER, message="vpc_config.endpoint_private_access is true",
    location=Location("main.tf", 12), input_path=HCL_ROOT, source_root=HCL_ROOT,
)


def sample_report() -> Report:
    """Every kind of finding a renderer must handle, in the engine's sorted order."""
    return Report(
        version="0.1.0",
        inputs=[ScannedInput(HCL_ROOT, "hcl"), ScannedInput(PLAN, "plan")],
        rules=list(RULES),
        findings=[
            PC101_PASS,
            PC102_SUPPRESSED,
            PC201,
            pc301("ecr.dkr"),
            pc301("sts"),
            PC101_UNKNOWN,
            PC304_NO_FILE,
        ],
    )


def report_with_errors() -> Report:
    report = sample_report()
    report.input_errors.append(
        InputError("/repo/infra/broken/main.tf", "Unexpected token '}'", 7, 3))
    report.internal_errors.append(
        InternalError("policy PC401", "KeyError('ingress')", "Traceback ..."))
    return report


ENDPOINT_SERVICES = ("ec2", "ecr.api", "ecr.dkr", "logs", "ssm", "ssmmessages", "sts")


def pc401(service: str) -> Finding:
    """One of seven endpoints whose one security group admits no HTTPS from the nodes."""
    address = f'aws_vpc_endpoint.this["{service}"]'
    return Finding(
        rule_id="PC401", slug="endpoint-security-group", severity=Severity.HIGH,
        status=Status.FAIL, address=address,
        message=f"{address} ({service}) admits no TCP 443 from node subnets "
                f"aws_subnet.private[0] (10.0.0.0/20): its security groups "
                f"aws_security_group.endpoints have no matching ingress rule",
        location=Location("endpoints.tf", 3),
        evidence=(address, "aws_security_group.endpoints", "aws_subnet.private[0]"),
        data={"cluster": CLUSTER, "security_groups": ["aws_security_group.endpoints"]},
        input_path=HCL_ROOT, source_root=HCL_ROOT,
    )


IN_MODULE = Finding(
    rule_id="PC202", slug="node-public-ip", severity=Severity.HIGH, status=Status.FAIL,
    address="module.nodes.aws_launch_template.this[0]",
    message="network_interfaces.associate_public_ip_address is true: nodes get a public IP",
    location=Location("main.tf", 30, 1),
    related=(Location(".terraform/modules/nodes/launch_template.tf", 8),),
    evidence=(CLUSTER, "module.nodes.aws_launch_template.this[0]"),
    input_path=HCL_ROOT, source_root=HCL_ROOT,
)


def terminal_report() -> Report:
    """What a platform team sees: the sample plus one cause behind seven findings."""
    report = sample_report()
    report.rules.append(RuleInfo("PC401", "endpoint-security-group", Severity.HIGH,
                                 "Endpoint security groups admit HTTPS from the nodes"))
    report.findings[3:3] = [IN_MODULE]
    report.findings.extend(pc401(service) for service in ENDPOINT_SERVICES)
    report.baselined = 1
    return report
