"""HCL text of the synthetic EKS estate: local modules, per-cluster files, filler files.

One `Spec` (which clusters, in which style and variant, and how many filler files)
renders to a Terraform root module with two local modules:

- `modules/network`: VPC, private subnets (`cidrsubnet`, `count`), one route table per
  AZ, interface endpoints (`for_each`), an S3 gateway endpoint, the endpoints' security
  group; with `enable_nat` also public subnets, an internet gateway, a NAT gateway and
  default routes through it.
- `modules/eks`: IAM roles, the cluster (KMS, log group), the node security group and
  its rules, IRSA, pod identity and add-ons; it calls
- `modules/nodes` (nested, as terraform-aws-modules/eks does): a managed node group
  with a launch template (nodeadm user data in a heredoc) and self-managed nodes (AL2
  bootstrap heredoc, ASG, access entry).

Clusters come in two styles, as in real estates: *explicit* (`cluster_<tok>.tf` with
`module "net_<tok>"` and `module "eks_<tok>"`) and *fleet* (one `for_each` over a map
in `main.tf`). Filler files (`filler_<tok>.tf`) hold the non-EKS bulk of a real
account: S3 buckets with their satellite resources, IAM, queues, topics, parameters.

Every name that differs between two clusters or filler files contains the cluster's
token, and each cluster has its own /16, so `generate.py` can clone a real plan of a
small spec into a plan of any size by text substitution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REGION = "eu-west-1"
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")

# Interface endpoints of a complete private cluster, and of the "lean" variant (which
# forgets ECR's docker endpoint, STS and SSM: nodes would fail to pull and join).
FULL_ENDPOINTS = ("ec2", "ecr.api", "ecr.dkr", "sts", "logs", "elasticloadbalancing",
                  "autoscaling", "eks-auth", "ssm", "ssmmessages", "ec2messages", "kms")
LEAN_ENDPOINTS = ("ec2", "ecr.api", "logs", "eks-auth")

# variant -> (enable_nat, public endpoint, interface endpoints)
VARIANTS = {
    "good": (False, False, FULL_ENDPOINTS),
    "nat": (True, True, FULL_ENDPOINTS),
    "lean": (False, True, LEAN_ENDPOINTS),
}


@dataclass(frozen=True)
class Cluster:
    token: str  # unique, appears in every name of the cluster
    style: str  # "explicit" or "fleet"
    variant: str  # key of VARIANTS
    octet: int  # second octet of the VPC's 10.x.0.0/16


@dataclass
class Spec:
    clusters: list[Cluster] = field(default_factory=list)
    fillers: list[str] = field(default_factory=list)  # tokens of filler files

    @property
    def explicit(self) -> list[Cluster]:
        return [c for c in self.clusters if c.style == "explicit"]

    @property
    def fleet(self) -> list[Cluster]:
        return [c for c in self.clusters if c.style == "fleet"]


def _hcl_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


# -- root module --------------------------------------------------------------------


def root_main(spec: Spec) -> str:
    fleet_entries = "\n".join(
        f'    "{c.token}" = {{\n'
        f'      cidr       = "10.{c.octet}.0.0/16"\n'
        f"      enable_nat = {str(VARIANTS[c.variant][0]).lower()}\n"
        f"      public_api = {str(VARIANTS[c.variant][1]).lower()}\n"
        f"      endpoints  = {_hcl_list(VARIANTS[c.variant][2])}\n"
        f"    }}"
        for c in spec.fleet
    )
    return f'''terraform {{
  required_version = ">= 1.5"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }}
  }}
}}

provider "aws" {{
  region = var.region

  # Offline: mock credentials, no calls to AWS at plan time.
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true

  default_tags {{
    tags = {{
      Team      = "platform"
      ManagedBy = "terraform"
    }}
  }}
}}

variable "region" {{
  type    = string
  default = "{REGION}"
}}

variable "kubernetes_version" {{
  type    = string
  default = "1.31"
}}

variable "node_ami_id" {{
  description = "EKS optimized AMI for the self-managed nodes"
  type        = string
  default     = "ami-0f3c1a9e2d4b5c6a7"
}}

locals {{
  azs = {_hcl_list(AZS)}

  # Clusters stamped out with for_each (the explicit ones have their own files).
  fleet = {{
{fleet_entries}
  }}
}}

module "fleet_net" {{
  source   = "./modules/network"
  for_each = local.fleet

  name                = each.key
  cidr                = each.value.cidr
  azs                 = local.azs
  region              = var.region
  enable_nat          = each.value.enable_nat
  interface_endpoints = each.value.endpoints
}}

module "fleet_eks" {{
  source   = "./modules/eks"
  for_each = local.fleet

  name                   = each.key
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.fleet_net[each.key].vpc_id
  vpc_cidr               = module.fleet_net[each.key].vpc_cidr
  subnet_ids             = module.fleet_net[each.key].private_subnet_ids
  endpoint_public_access = each.value.public_api
  s3_prefix_list_id      = module.fleet_net[each.key].s3_prefix_list_id
  node_ami_id            = var.node_ami_id
}}
'''


def cluster_file(c: Cluster) -> str:
    enable_nat, public_api, endpoints = VARIANTS[c.variant]
    t = c.token
    return f'''# Cluster {t} ({c.variant}): network and EKS from the local modules.

module "net_{t}" {{
  source = "./modules/network"

  name                = "{t}"
  cidr                = "10.{c.octet}.0.0/16"
  azs                 = local.azs
  region              = var.region
  enable_nat          = {str(enable_nat).lower()}
  interface_endpoints = {_hcl_list(endpoints)}
}}

module "eks_{t}" {{
  source = "./modules/eks"

  name                   = "{t}"
  kubernetes_version     = var.kubernetes_version
  vpc_id                 = module.net_{t}.vpc_id
  vpc_cidr               = module.net_{t}.vpc_cidr
  subnet_ids             = module.net_{t}.private_subnet_ids
  endpoint_public_access = {str(public_api).lower()}
  s3_prefix_list_id      = module.net_{t}.s3_prefix_list_id
  node_ami_id            = var.node_ami_id
}}

# Bastion-less admin access: SSM endpoints are in the VPC, the admin role is here.
resource "aws_iam_role" "{t}_admin" {{
  name = "{t}-admin"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ AWS = "arn:aws:iam::123456789012:root" }}
      Action    = "sts:AssumeRole"
    }}]
  }})
}}

resource "aws_eks_access_entry" "{t}_admin" {{
  cluster_name  = module.eks_{t}.cluster_name
  principal_arn = aws_iam_role.{t}_admin.arn
  type          = "STANDARD"
}}

resource "aws_eks_access_policy_association" "{t}_admin" {{
  cluster_name  = module.eks_{t}.cluster_name
  principal_arn = aws_iam_role.{t}_admin.arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {{
    type = "cluster"
  }}
}}
'''


def filler_file(token: str) -> str:
    t = token
    return f'''# Application resources of team {t}: nothing here is part of a cluster.

locals {{
  {t}_buckets = toset(["artifacts", "logs", "backups"])
  {t}_params = {{
    db_host  = "db.{t}.internal"
    log_tier = "standard"
    feature  = "on"
  }}
}}

resource "aws_s3_bucket" "{t}" {{
  for_each = local.{t}_buckets

  bucket = "acme-{t}-${{each.key}}"

  tags = {{
    Name  = "acme-{t}-${{each.key}}"
    Owner = "{t}"
  }}
}}

resource "aws_s3_bucket_versioning" "{t}" {{
  for_each = aws_s3_bucket.{t}

  bucket = each.value.id
  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "{t}" {{
  for_each = aws_s3_bucket.{t}

  bucket = each.value.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = "aws:kms"
    }}
  }}
}}

resource "aws_s3_bucket_public_access_block" "{t}" {{
  for_each = aws_s3_bucket.{t}

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}

resource "aws_iam_role" "{t}_app" {{
  name = "{t}-app"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Service = "ecs-tasks.amazonaws.com" }}
      Action    = "sts:AssumeRole"
    }}]
  }})
}}

resource "aws_iam_role_policy" "{t}_app" {{
  name = "{t}-app"
  role = aws_iam_role.{t}_app.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [
      {{
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = [for b in aws_s3_bucket.{t} : "${{b.arn}}/*"]
      }},
      {{
        Effect   = "Allow"
        Action   = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
        Resource = aws_sqs_queue.{t}[*].arn
      }},
    ]
  }})
}}

resource "aws_sqs_queue" "{t}" {{
  count = 2

  name                       = "{t}-queue-${{count.index}}"
  visibility_timeout_seconds = 60
  message_retention_seconds  = 345600
}}

resource "aws_sns_topic" "{t}" {{
  name = "{t}-events"
}}

resource "aws_sns_topic_subscription" "{t}" {{
  count = 2

  topic_arn = aws_sns_topic.{t}.arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.{t}[count.index].arn
}}

resource "aws_cloudwatch_log_group" "{t}" {{
  name              = "/acme/{t}/app"
  retention_in_days = 30
}}

resource "aws_ssm_parameter" "{t}" {{
  for_each = local.{t}_params

  name  = "/acme/{t}/${{each.key}}"
  type  = "String"
  value = each.value
}}
'''


# -- modules/network ----------------------------------------------------------------

NETWORK_MAIN = '''locals {
  public_count = var.enable_nat ? length(var.azs) : 0
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, {
    Name = "${var.name}-vpc"
  })
}

resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-default"
  }
}

resource "aws_subnet" "private" {
  count = length(var.azs)

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.cidr, 4, count.index)
  availability_zone = var.azs[count.index]

  tags = merge(var.tags, {
    Name                              = "${var.name}-private-${var.azs[count.index]}"
    "kubernetes.io/role/internal-elb" = "1"
    "kubernetes.io/cluster/${var.name}" = "shared"
  })
}

resource "aws_route_table" "private" {
  count = length(var.azs)

  vpc_id = aws_vpc.this.id

  tags = {
    Name = "${var.name}-private-${var.azs[count.index]}"
  }
}

resource "aws_route_table_association" "private" {
  count = length(var.azs)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# Egress through NAT (only where enable_nat): not a private cluster any more.
resource "aws_subnet" "public" {
  count = local.public_count

  vpc_id                  = aws_vpc.this.id
  cidr_block              = cidrsubnet(var.cidr, 8, 200 + count.index)
  availability_zone       = var.azs[count.index]
  map_public_ip_on_launch = true

  tags = {
    Name                     = "${var.name}-public-${var.azs[count.index]}"
    "kubernetes.io/role/elb" = "1"
  }
}

resource "aws_internet_gateway" "this" {
  count = var.enable_nat ? 1 : 0

  vpc_id = aws_vpc.this.id
}

resource "aws_eip" "nat" {
  count = var.enable_nat ? 1 : 0

  domain = "vpc"
}

resource "aws_nat_gateway" "this" {
  count = var.enable_nat ? 1 : 0

  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
}

resource "aws_route_table" "public" {
  count = var.enable_nat ? 1 : 0

  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }
}

resource "aws_route_table_association" "public" {
  count = local.public_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route" "private_nat" {
  count = local.public_count

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[0].id
}
'''

NETWORK_ENDPOINTS = '''resource "aws_security_group" "endpoints" {
  name_prefix = "${var.name}-vpce-"
  description = "HTTPS from inside the VPC to the interface endpoints"
  vpc_id      = aws_vpc.this.id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  cidr_ipv4         = aws_vpc.this.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS from the VPC"
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoints)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]

  tags = {
    Name = "${var.name}-${each.value}"
  }
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = {
    Name = "${var.name}-s3"
  }
}
'''

NETWORK_VARIABLES = '''variable "name" {
  type = string
}

variable "cidr" {
  type = string
}

variable "azs" {
  type = list(string)
}

variable "region" {
  type = string
}

variable "enable_nat" {
  type    = bool
  default = false
}

variable "interface_endpoints" {
  type = list(string)
}

variable "tags" {
  type    = map(string)
  default = {}
}
'''

NETWORK_OUTPUTS = '''output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr" {
  value = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "private_route_table_ids" {
  value = aws_route_table.private[*].id
}

output "endpoint_security_group_id" {
  value = aws_security_group.endpoints.id
}

output "s3_prefix_list_id" {
  value = aws_vpc_endpoint.s3.prefix_list_id
}
'''

# -- modules/eks --------------------------------------------------------------------

EKS_MAIN = '''locals {
  node_policies = toset([
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ])
  addons      = toset(["vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"])
  oidc_issuer = replace(aws_iam_openid_connect_provider.this.url, "https://", "")
}

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${var.name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json
}

resource "aws_iam_role_policy_attachment" "cluster" {
  for_each = toset([
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController",
  ])

  role       = aws_iam_role.cluster.name
  policy_arn = each.value
}

resource "aws_kms_key" "secrets" {
  description             = "${var.name} EKS secrets"
  deletion_window_in_days = 7
  enable_key_rotation     = true
}

resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${var.name}/cluster"
  retention_in_days = 90
}

resource "aws_eks_cluster" "this" {
  name     = var.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = ["api", "audit", "authenticator"]

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access ? ["0.0.0.0/0"] : null
  }

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  kubernetes_network_config {
    service_ipv4_cidr = var.service_cidr
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.secrets.arn
    }
  }

  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.cluster]
}

resource "aws_security_group" "node" {
  name_prefix = "${var.name}-node-"
  description = "EKS nodes"
  vpc_id      = var.vpc_id

  tags = {
    "kubernetes.io/cluster/${var.name}" = "owned"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "node_self" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_security_group.node.id
  ip_protocol                  = "-1"
  description                  = "Node to node"
}

resource "aws_vpc_security_group_ingress_rule" "node_from_cluster" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 1025
  to_port                      = 65535
  description                  = "Control plane to kubelets and webhooks"
}

resource "aws_vpc_security_group_ingress_rule" "cluster_from_nodes" {
  security_group_id            = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  referenced_security_group_id = aws_security_group.node.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "Nodes to the API server"
}

resource "aws_vpc_security_group_egress_rule" "node_vpc" {
  security_group_id = aws_security_group.node.id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "-1"
  description       = "Anything inside the VPC (endpoints, API server, DNS, pods)"
}

resource "aws_vpc_security_group_egress_rule" "node_s3" {
  security_group_id = aws_security_group.node.id
  prefix_list_id    = var.s3_prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS to S3 through the gateway endpoint (ECR image layers)"
}

module "nodes" {
  source = "../nodes"

  name                   = var.name
  cluster_name           = aws_eks_cluster.this.name
  cluster_endpoint       = aws_eks_cluster.this.endpoint
  cluster_ca             = aws_eks_cluster.this.certificate_authority[0].data
  service_cidr           = var.service_cidr
  subnet_ids             = var.subnet_ids
  node_security_group_id = aws_security_group.node.id
  node_ami_id            = var.node_ami_id
  assume_role_policy     = data.aws_iam_policy_document.node_assume.json
  node_policies          = local.node_policies
}

resource "aws_iam_openid_connect_provider" "this" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "ebs_csi" {
  name = "${var.name}-ebs-csi"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.this.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${local.oidc_issuer}:sub" = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_eks_addon" "this" {
  for_each = local.addons

  cluster_name = aws_eks_cluster.this.name
  addon_name   = each.value

  depends_on = [module.nodes]
}

resource "aws_eks_addon" "ebs_csi" {
  cluster_name             = aws_eks_cluster.this.name
  addon_name               = "aws-ebs-csi-driver"
  service_account_role_arn = aws_iam_role.ebs_csi.arn

  depends_on = [module.nodes]
}

resource "aws_iam_role" "app" {
  name = "${var.name}-app"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
    }]
  })
}

resource "aws_eks_pod_identity_association" "app" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = "app"
  service_account = "app-api"
  role_arn        = aws_iam_role.app.arn
}
'''

NODES_MAIN = '''resource "aws_iam_role" "node" {
  name               = "${var.name}-node"
  assume_role_policy = var.assume_role_policy
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = var.node_policies

  role       = aws_iam_role.node.name
  policy_arn = each.value
}

resource "aws_launch_template" "managed" {
  name_prefix            = "${var.name}-managed-"
  vpc_security_group_ids = [var.node_security_group_id]

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 50
      volume_type = "gp3"
      encrypted   = true
    }
  }

  # Extra kubelet settings merged by nodeadm with what EKS generates.
  user_data = base64encode(<<-EOT
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="BOUNDARY"

    --BOUNDARY
    Content-Type: application/node.eks.aws

    ---
    apiVersion: node.eks.aws/v1alpha1
    kind: NodeConfig
    spec:
      kubelet:
        config:
          maxPods: 58
          shutdownGracePeriod: 30s
        flags:
          - --node-labels=node.kubernetes.io/lifecycle=managed,cluster=${var.cluster_name}

    --BOUNDARY--
  EOT
  )
}

resource "aws_eks_node_group" "default" {
  cluster_name    = var.cluster_name
  node_group_name = "default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids
  ami_type        = "AL2023_x86_64_STANDARD"
  instance_types  = ["m6i.large"]

  scaling_config {
    desired_size = 3
    min_size     = 3
    max_size     = 6
  }

  launch_template {
    id      = aws_launch_template.managed.id
    version = aws_launch_template.managed.latest_version
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_iam_role" "self_managed" {
  name               = "${var.name}-self-managed"
  assume_role_policy = var.assume_role_policy
}

resource "aws_iam_role_policy_attachment" "self_managed" {
  for_each = var.node_policies

  role       = aws_iam_role.self_managed.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "self_managed" {
  name = "${var.name}-self-managed"
  role = aws_iam_role.self_managed.name
}

# AL2 self-managed nodes: bootstrap.sh gets the endpoint, CA and DNS IP, so it never
# calls eks:DescribeCluster.
resource "aws_launch_template" "self_managed" {
  name_prefix            = "${var.name}-self-managed-"
  image_id               = var.node_ami_id
  instance_type          = "m6i.xlarge"
  vpc_security_group_ids = [var.node_security_group_id]

  iam_instance_profile {
    name = aws_iam_instance_profile.self_managed.name
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  user_data = base64encode(<<-EOT
    #!/bin/bash
    set -o xtrace
    /etc/eks/bootstrap.sh ${var.cluster_name} \\
      --apiserver-endpoint '${var.cluster_endpoint}' \\
      --b64-cluster-ca '${var.cluster_ca}' \\
      --dns-cluster-ip ${cidrhost(var.service_cidr, 10)} \\
      --kubelet-extra-args '--node-labels=node.kubernetes.io/lifecycle=self-managed'
  EOT
  )
}

resource "aws_autoscaling_group" "self_managed" {
  name_prefix         = "${var.name}-self-managed-"
  min_size            = 1
  max_size            = 3
  desired_capacity    = 1
  vpc_zone_identifier = var.subnet_ids

  launch_template {
    id      = aws_launch_template.self_managed.id
    version = "$Latest"
  }

  tag {
    key                 = "kubernetes.io/cluster/${var.cluster_name}"
    value               = "owned"
    propagate_at_launch = true
  }

  depends_on = [aws_eks_access_entry.self_managed]
}

resource "aws_eks_access_entry" "self_managed" {
  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.self_managed.arn
  type          = "EC2_LINUX"
}

output "node_role_arn" {
  value = aws_iam_role.node.arn
}

output "node_group_arn" {
  value = aws_eks_node_group.default.arn
}
'''

NODES_VARIABLES = '''variable "name" {
  type = string
}

variable "cluster_name" {
  type = string
}

variable "cluster_endpoint" {
  type = string
}

variable "cluster_ca" {
  type = string
}

variable "service_cidr" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "node_security_group_id" {
  type = string
}

variable "node_ami_id" {
  type = string
}

variable "assume_role_policy" {
  type = string
}

variable "node_policies" {
  type = set(string)
}
'''

EKS_VARIABLES = '''variable "name" {
  type = string
}

variable "kubernetes_version" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "endpoint_public_access" {
  type    = bool
  default = false
}

variable "s3_prefix_list_id" {
  type = string
}

variable "service_cidr" {
  type    = string
  default = "172.20.0.0/16"
}

variable "node_ami_id" {
  type = string
}
'''

EKS_OUTPUTS = '''output "cluster_name" {
  value = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  value = aws_eks_cluster.this.endpoint
}

output "node_security_group_id" {
  value = aws_security_group.node.id
}

output "oidc_provider_arn" {
  value = aws_iam_openid_connect_provider.this.arn
}
'''

MODULE_FILES = {
    "modules/network/main.tf": NETWORK_MAIN + "\n" + NETWORK_ENDPOINTS,
    "modules/network/variables.tf": NETWORK_VARIABLES,
    "modules/network/outputs.tf": NETWORK_OUTPUTS,
    "modules/eks/main.tf": EKS_MAIN,
    "modules/eks/variables.tf": EKS_VARIABLES,
    "modules/eks/outputs.tf": EKS_OUTPUTS,
    "modules/nodes/main.tf": NODES_MAIN,
    "modules/nodes/variables.tf": NODES_VARIABLES,
}
FIXED_FILES = len(MODULE_FILES) + 1  # + the root main.tf


def render(spec: Spec) -> dict[str, str]:
    """Relative path -> text of every .tf file of the tree."""
    files = dict(MODULE_FILES)
    files["main.tf"] = root_main(spec)
    for cluster in spec.explicit:
        files[f"cluster_{cluster.token}.tf"] = cluster_file(cluster)
    for token in spec.fillers:
        files[f"filler_{token}.tf"] = filler_file(token)
    return files
