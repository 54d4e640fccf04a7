"""The HCL loader: a root module directory evaluated into the resource graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfcheck.engine import ScanOptions, scan
from tfcheck.graph import ResourceGraph
from tfcheck.loaders import LoadFailure
from tfcheck.loaders.hcl import HclLoad, load_hcl
from tfcheck.model import Location, Resource, Suppression, Unknown

from .conftest import FIXTURES
from .work_counting import counted_calls

TREE = FIXTURES / "hcl" / "modules-tree"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load(root: Path, files: dict[str, str] | None = None, **options: object) -> HclLoad:
    if files:
        write(root, files)
    return load_hcl(root, **options)  # type: ignore[arg-type]


def resource(graph: ResourceGraph, address: str) -> Resource:
    found = graph.get(address)
    assert found is not None, f"{address} not in {sorted(r.address for r in graph.resources())}"
    return found


def targets(graph: ResourceGraph, address: str, attribute: str | None = None) -> list[str]:
    return [r.address for r in graph.references(resource(graph, address), attribute)]


# -- a tree with local, nested, for_each and registry modules ------------------------


@pytest.fixture(scope="module")
def tree() -> ResourceGraph:
    loaded = load_hcl(TREE)
    assert loaded.errors == []
    return loaded.graph


def test_instance_addresses_across_modules(tree: ResourceGraph) -> None:
    assert [r.address for r in tree.resources()] == [
        "aws_eks_cluster.main",
        "aws_security_group.x",
        'aws_vpc_endpoint.this["ecr.api"]',
        'aws_vpc_endpoint.this["ecr.dkr"]',
        'aws_vpc_endpoint.this["s3"]',
        "module.eks.aws_eks_cluster.this[0]",
        "module.eks.aws_security_group.cluster",
        'module.regional["east"].aws_vpc.this',
        'module.regional["east"].module.subnets[0].aws_subnet.this',
        'module.regional["west"].aws_vpc.this',
        'module.regional["west"].module.subnets[0].aws_subnet.this',
        "module.vpc.aws_vpc.this",
        "module.vpc.module.subnets[0].aws_subnet.this",
        "module.vpc.module.subnets[1].aws_subnet.this",
    ]
    subnet = resource(tree, "module.vpc.module.subnets[1].aws_subnet.this")
    assert (subnet.module, subnet.index, subnet.type, subnet.name) == (
        "module.vpc.module.subnets[1]",
        None,
        "aws_subnet",
        "this",
    )
    endpoint = resource(tree, 'aws_vpc_endpoint.this["s3"]')
    assert (endpoint.module, endpoint.index) == ("", "s3")


def test_values_through_variables_tfvars_and_module_inputs(tree: ResourceGraph) -> None:
    subnet = resource(tree, "module.vpc.module.subnets[1].aws_subnet.this")
    assert subnet.values["cidr_block"] == "10.0.1.0/24"  # cidrsubnet(var.cidr, 8, count.index)
    assert subnet.values["availability_zone"] == "b"
    assert subnet.values["vpc_id"] == Unknown(
        "module.vpc.aws_vpc.this.id is known only after apply", ("module.vpc.aws_vpc.this",)
    )
    # terraform.tfvars sets region, extra.auto.tfvars overrides the default cluster name
    assert resource(tree, "aws_eks_cluster.main").values["name"] == "from-auto"
    endpoint = resource(tree, 'aws_vpc_endpoint.this["ecr.api"]')
    assert endpoint.values["service_name"] == "com.amazonaws.eu-west-1.ecr.api"
    assert endpoint.values["vpc_endpoint_type"] == "Interface"
    s3 = resource(tree, 'aws_vpc_endpoint.this["s3"]')
    assert "subnet_ids" not in s3.values  # null means unset
    assert s3.configured == frozenset({"vpc_id", "service_name", "vpc_endpoint_type"})
    east = resource(tree, 'module.regional["east"].aws_vpc.this')
    assert east.values == {"cidr_block": "10.1.0.0/16", "tags": {"Name": "east"}}


def test_edges_follow_module_inputs_and_outputs(tree: ResourceGraph) -> None:
    assert targets(tree, "aws_eks_cluster.main", "vpc_config.subnet_ids") == [
        "module.vpc.module.subnets[0].aws_subnet.this",
        "module.vpc.module.subnets[1].aws_subnet.this",
    ]
    assert targets(tree, 'aws_vpc_endpoint.this["ecr.dkr"]', "vpc_id") == [
        "module.vpc.aws_vpc.this"
    ]
    assert targets(tree, "module.vpc.module.subnets[0].aws_subnet.this") == [
        "module.vpc.aws_vpc.this"
    ]
    assert targets(tree, "module.eks.aws_security_group.cluster", "vpc_id") == [
        "module.vpc.aws_vpc.this"
    ]
    assert targets(tree, 'module.regional["west"].module.subnets[0].aws_subnet.this') == [
        'module.regional["west"].aws_vpc.this'
    ]


def test_registry_module_from_modules_json_and_a_note_for_a_missing_one(
    tree: ResourceGraph,
) -> None:
    cluster = resource(tree, "module.eks.aws_eks_cluster.this[0]")
    assert cluster.location == Location(".terraform/modules/eks/main.tf", 10)
    assert cluster.get("vpc_config.endpoint_private_access") is True
    assert tree.notes == [
        "module unfetched (git::https://example.com/network.git) is not on disk: "
        "run terraform init so that .terraform/modules holds it"
    ]
    vpc_id = resource(tree, "aws_security_group.x").values["vpc_id"]
    assert isinstance(vpc_id, Unknown) and "is not on disk" in vpc_id.reason


def test_providers_aliases_and_regions(tree: ResourceGraph) -> None:
    assert sorted(tree.providers) == ["aws", "aws.west"]
    assert tree.providers["aws"].region == "eu-west-1"
    assert tree.providers["aws.west"].alias == "west"
    west = resource(tree, 'module.regional["east"].module.subnets[0].aws_subnet.this')
    assert (west.provider, west.region) == ("aws.west", "us-west-2")
    main = resource(tree, "module.vpc.aws_vpc.this")
    assert (main.provider, main.region) == ("aws", "eu-west-1")


def test_locations_and_attribute_lines(tree: ResourceGraph) -> None:
    cluster = resource(tree, "aws_eks_cluster.main")
    assert cluster.location == Location("main.tf", 64)
    assert cluster.attribute_lines["vpc_config"] == 66
    assert cluster.location_of("vpc_config.subnet_ids") == Location("main.tf", 67)
    subnet = resource(tree, "module.vpc.module.subnets[0].aws_subnet.this")
    assert subnet.location == Location("modules/vpc/modules/subnet/main.tf", 5)


def _plan_of(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A plan whose planned values are `resources` (address -> values), modules nested."""
    modules: dict[str, dict[str, Any]] = {"": {"resources": []}}
    for address, values in resources.items():
        parts = address.split(".")
        module = ".".join(parts[:-2])
        local_type, name = parts[-2], parts[-1].split("[", 1)[0]
        for end in range(2, len(parts) - 1, 2):
            prefix = ".".join(parts[:end])
            if prefix not in modules:
                modules[prefix] = {"address": prefix, "resources": []}
                parent = ".".join(parts[:end - 2])
                modules[parent].setdefault("child_modules", []).append(modules[prefix])
        entry: dict[str, Any] = {
            "address": address, "mode": "managed", "type": local_type, "name": name,
            "provider_name": "registry.terraform.io/hashicorp/aws", "values": values}
        if parts[-1].endswith("]"):
            entry["index"] = int(parts[-1].split("[", 1)[1].rstrip("]"))
        modules[module]["resources"].append(entry)
    return {"format_version": "1.2", "terraform_version": "1.9.0",
            "planned_values": {"root_module": modules[""]}}


PUBLIC_CLUSTER = {"name": "c", "vpc_config": [{
    "endpoint_public_access": True, "endpoint_private_access": False,
    "public_access_cidrs": ["0.0.0.0/0"], "subnet_ids": ["subnet-1"]}]}


def test_a_plan_scanned_with_its_source_has_the_locations_of_its_blocks(
    tmp_path: Path,
) -> None:
    """Root blocks, local modules and registry modules under .terraform/modules."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan_of({
        "aws_eks_cluster.main": PUBLIC_CLUSTER,
        "module.eks.aws_eks_cluster.this[0]": PUBLIC_CLUSTER,
        "module.vpc.module.subnets[0].aws_subnet.this": {
            "id": "subnet-1", "vpc_id": "vpc-1", "cidr_block": "10.0.0.0/24",
            "map_public_ip_on_launch": True},
    })))
    report = scan([str(plan)], options=ScanOptions(source_dir=TREE))
    assert report.input_errors == [] and report.internal_errors == []
    found = {(f.rule_id, f.address): f for f in report.findings}
    assert found["PC101", "aws_eks_cluster.main"].location == Location("main.tf", 64)
    registry = found["PC101", "module.eks.aws_eks_cluster.this[0]"]
    assert registry.location == Location("main.tf", 46, 1)  # the `module "eks"` block
    # its own block's attribute, in the registry module's download
    assert registry.related == (Location(".terraform/modules/eks/main.tf", 14),)
    subnet = found["PC202", "module.vpc.module.subnets[0].aws_subnet.this"]
    assert subnet.location == Location("main.tf", 28, 1)
    assert subnet.related == (Location("modules/vpc/modules/subnet/main.tf", 5),)


def test_a_plan_whose_source_is_partly_unreadable_keeps_the_locations_it_has(
    tmp_path: Path,
) -> None:
    source = write(tmp_path / "src", {
        "bad.tf": "resource {",
        "good.tf": 'resource "aws_eks_cluster" "a" {\n  name = "c"\n}\n'})
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan_of({"aws_eks_cluster.a": PUBLIC_CLUSTER})))
    located = scan([str(plan)], options=ScanOptions(source_dir=source))
    assert [f.location for f in located.findings if f.rule_id == "PC101"] == [
        Location("good.tf", 1)]
    missing = scan([str(plan)], options=ScanOptions(source_dir=tmp_path / "missing"))
    assert missing.internal_errors == []
    assert [e.message for e in missing.input_errors] == ["--source: no such directory"]


# -- count, for_each, placeholders ---------------------------------------------------


def test_count_and_for_each_references_map_to_instances(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
resource "aws_subnet" "private" {
  count      = 3
  cidr_block = cidrsubnet("10.0.0.0/16", 8, count.index)
}
resource "aws_route_table_association" "private" {
  count     = 3
  subnet_id = aws_subnet.private[count.index].id
}
resource "aws_subnet" "named" {
  for_each   = { a = 0, b = 1 }
  cidr_block = cidrsubnet("10.1.0.0/16", 8, each.value)
}
resource "aws_route_table_association" "named" {
  for_each  = aws_subnet.named
  subnet_id = aws_subnet.named[each.key].id
}
resource "aws_vpc_endpoint" "all" {
  subnet_ids = aws_subnet.private[*].id
}
resource "aws_vpc_endpoint" "first" {
  subnet_ids = [aws_subnet.private[0].id]
}
resource "aws_vpc_endpoint" "values" {
  subnet_ids = values(aws_subnet.named)[*].id
}
""",
        },
    ).graph
    assert targets(graph, "aws_route_table_association.private[1]") == ["aws_subnet.private[1]"]
    assert targets(graph, 'aws_route_table_association.named["b"]') == ['aws_subnet.named["b"]']
    assert targets(graph, "aws_vpc_endpoint.all", "subnet_ids") == [
        "aws_subnet.private[0]",
        "aws_subnet.private[1]",
        "aws_subnet.private[2]",
    ]
    assert targets(graph, "aws_vpc_endpoint.first") == ["aws_subnet.private[0]"]
    assert targets(graph, "aws_vpc_endpoint.values") == [
        'aws_subnet.named["a"]',
        'aws_subnet.named["b"]',
    ]
    assert resource(graph, 'aws_subnet.named["b"]').values["cidr_block"] == "10.1.1.0/24"


def test_unknown_count_gives_one_placeholder_without_a_key(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
data "aws_availability_zones" "available" {}
resource "aws_subnet" "private" {
  count             = length(data.aws_availability_zones.available.names)
  availability_zone = data.aws_availability_zones.available.names[count.index]
  cidr_block        = cidrsubnet("10.0.0.0/16", 8, count.index)
  vpc_id            = "vpc-123"
}
resource "aws_eks_cluster" "main" {
  vpc_config {
    subnet_ids = aws_subnet.private[*].id
  }
}
resource "aws_vpc_endpoint" "this" {
  for_each = toset(aws_subnet.private[*].id)
  subnet_ids = [each.value]
}
""",
        },
    ).graph
    placeholder = resource(graph, "aws_subnet.private")
    assert placeholder.index is None
    assert placeholder.values["vpc_id"] == "vpc-123"
    cidr = placeholder.values["cidr_block"]
    assert isinstance(cidr, Unknown) and "count of aws_subnet.private is not known" in cidr.reason
    assert targets(graph, "aws_eks_cluster.main") == ["aws_subnet.private"]
    assert targets(graph, "aws_vpc_endpoint.this") == ["aws_subnet.private"]
    assert targets(graph, "aws_subnet.private") == ["data.aws_availability_zones.available"]


def test_count_zero_and_conditional_resources(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
variable "create" { default = false }
resource "aws_nat_gateway" "this" {
  count = var.create ? 1 : 0
}
resource "aws_route" "nat" {
  count          = var.create ? 1 : 0
  nat_gateway_id = aws_nat_gateway.this[0].id
}
resource "aws_vpc" "x" {
  tags = { n = length(aws_nat_gateway.this) }
}
""",
        },
    ).graph
    assert [r.address for r in graph.resources()] == ["aws_vpc.x"]
    assert resource(graph, "aws_vpc.x").values["tags"] == {"n": 0}


def test_huge_count_is_not_expanded(tmp_path: Path) -> None:
    def loaded(count: int, limit: int | None = None) -> tuple[ResourceGraph, int]:
        root = tmp_path / str(count)
        with counted_calls(limit) as work:
            graph = load(root, {"main.tf": f'resource "aws_subnet" "x" {{\n  count = {count}\n}}\n'}
                         ).graph
        return graph, work.calls

    loaded(2)  # warm: modules imported on first use are not the load's work
    _, one = loaded(1)
    # the work of one instance, give or take: a million instances would be a million
    # times it, and stop at the limit instead
    graph, _ = loaded(1_000_000, limit=2 * one)
    assert [r.address for r in graph.resources()] == ["aws_subnet.x"]
    assert any("count 1000000" in note for note in graph.notes)


# -- blocks -----------------------------------------------------------------------


def test_nested_and_dynamic_blocks(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
variable "ports" { default = [443, 80] }
resource "aws_security_group" "sg" {
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  dynamic "ingress" {
    for_each = var.ports
    iterator = port
    content {
      from_port   = port.value
      to_port     = port.value
      protocol    = "tcp"
      description = "rule ${port.key}"
    }
  }
  dynamic "egress" {
    for_each = data.aws_prefix_list.s3.cidr_blocks
    content {
      cidr_blocks = [egress.value]
    }
  }
  lifecycle {
    create_before_destroy = true
  }
}
data "aws_prefix_list" "s3" {}
""",
        },
    ).graph
    sg = resource(graph, "aws_security_group.sg")
    assert [(i["from_port"], i.get("description")) for i in sg.values["ingress"]] == [
        (22, None),
        (443, "rule 0"),
        (80, "rule 1"),
    ]
    egress = sg.values["egress"]
    assert isinstance(egress, Unknown) and "dynamic block egress" in egress.reason
    assert "egress.cidr_blocks" in (sg.configured or ())
    assert "lifecycle" not in sg.values
    assert targets(graph, "aws_security_group.sg", "egress") == ["data.aws_prefix_list.s3"]
    assert sg.attribute_lines["ingress"] == 4
    assert sg.attribute_lines["ingress.description"] == 17


def test_heredoc_user_data_rendered_with_unknown_placeholders(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
resource "aws_eks_cluster" "main" {
  name = "prod"
}
resource "aws_launch_template" "nodes" {
  user_data = base64encode(<<-EOT
    #!/bin/bash
    /etc/eks/bootstrap.sh ${aws_eks_cluster.main.name} \\
      --apiserver-endpoint ${aws_eks_cluster.main.endpoint}
    EOT
  )
}
resource "aws_launch_template" "plain" {
  user_data = <<EOT
#!/bin/bash
echo ${aws_eks_cluster.main.name}
EOT
}
""",
        },
    ).graph
    import base64

    plain = resource(graph, "aws_launch_template.plain").values["user_data"]
    assert plain == "#!/bin/bash\necho prod\n"
    encoded = resource(graph, "aws_launch_template.nodes").values["user_data"]
    assert isinstance(encoded, Unknown) and encoded.references == ("aws_eks_cluster.main",)
    partial = base64.b64decode(getattr(encoded, "partial", "")).decode()
    assert partial == (
        "#!/bin/bash\n/etc/eks/bootstrap.sh prod \\\n"
        "  --apiserver-endpoint ${aws_eks_cluster.main.endpoint}\n"
    )
    assert targets(graph, "aws_launch_template.nodes", "user_data") == ["aws_eks_cluster.main"]


# -- suppressions ---------------------------------------------------------------------


def test_suppressions_above_and_inside_a_block(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
# unrelated comment
# tfcheck:ignore PC102 public endpoint needed by CI runners
resource "aws_eks_cluster" "main" {
  name = "x"
  vpc_config {
    // tfcheck:ignore PC101,cluster-public-endpoint
    endpoint_public_access = true
  }
}

# tfcheck:ignore PC201 not this one: a blank line separates it

resource "aws_subnet" "a" {
}
""",
        },
    ).graph
    assert resource(graph, "aws_eks_cluster.main").suppressions == (
        Suppression("PC102", "public endpoint needed by CI runners", Location("main.tf", 3)),
        Suppression("PC101", "", Location("main.tf", 7)),
        Suppression("cluster-public-endpoint", "", Location("main.tf", 7)),
    )
    assert resource(graph, "aws_subnet.a").suppressions == ()


# -- variables ----------------------------------------------------------------------


VARIABLES = {
    "main.tf": """
variable "region" {}
variable "azs" { type = list(string) }
variable "size" { type = number }
variable "name" {
  type    = string
  default = "default"
}
variable "settings" {
  type = object({
    private = optional(bool, true)
    cidrs   = optional(list(string), [])
  })
  default = {}
}
resource "aws_vpc" "x" {
  tags = {
    region   = var.region
    azs      = join(",", var.azs)
    size     = var.size + 1
    name     = var.name
    private  = var.settings.private
    cidrs    = length(var.settings.cidrs)
  }
}
""",
}


def test_variable_sources_in_precedence_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, VARIABLES)
    write(
        tmp_path,
        {
            "terraform.tfvars": 'region = "eu-west-1"\nname = "tfvars"\n',
            "b.auto.tfvars.json": '{"name": "auto-json", "azs": ["x"]}',
            "a.auto.tfvars": 'name = "auto"\n',
            "extra/prod.tfvars": 'azs = ["a", "b"]\nsize = 2\n',
        },
    )
    monkeypatch.setenv("TF_VAR_size", "40")
    monkeypatch.setenv("TF_VAR_region", "from-env")
    loaded = load_hcl(
        tmp_path,
        var_files=[tmp_path / "extra" / "prod.tfvars"],
        variables={"name": "cli"},
        use_env=True,
    )
    tags = resource(loaded.graph, "aws_vpc.x").values["tags"]
    assert tags == {
        "region": "eu-west-1",
        "azs": "a,b",
        "size": 3,
        "name": "cli",
        "private": True,
        "cidrs": 0,
    }
    without_env = load_hcl(tmp_path)
    tags = resource(without_env.graph, "aws_vpc.x").values["tags"]
    assert tags["azs"] == "x" and tags["name"] == "auto-json"
    size = tags["size"]
    assert isinstance(size, Unknown)
    assert size.reason == "var.size has no value: pass it with --var or --var-file"


def test_cli_variables_are_parsed_by_their_type(tmp_path: Path) -> None:
    write(tmp_path, VARIABLES)
    loaded = load_hcl(
        tmp_path,
        variables={"region": "[not, parsed]", "azs": '["p", "q"]', "size": "1"},
    )
    tags = resource(loaded.graph, "aws_vpc.x").values["tags"]
    assert (tags["region"], tags["azs"], tags["size"]) == ("[not, parsed]", "p,q", 2)


def test_broken_var_file_is_an_input_error(tmp_path: Path) -> None:
    write(tmp_path, VARIABLES)
    write(tmp_path, {"bad.tfvars": 'region = "x\n'})
    loaded = load_hcl(tmp_path, var_files=[tmp_path / "bad.tfvars", tmp_path / "nope.tfvars"])
    assert [(e.path, e.line) for e in loaded.errors] == [("bad.tfvars", 1), ("nope.tfvars", None)]


# -- errors and hostile input -------------------------------------------------------


def test_unparsable_file_is_reported_and_the_rest_still_loads(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {
            "broken.tf": 'resource "aws_vpc" "a" {\n  cidr_block = \n}\n',
            "good.tf": 'resource "aws_vpc" "b" {\n  cidr_block = "10.0.0.0/16"\n}\n',
            "modules/m/main.tf": "locals {\n  x = [\n}\n",
            "mod.tf": 'module "m" {\n  source = "./modules/m"\n}\n',
        },
    )
    assert [(e.path, e.line, e.column) for e in loaded.errors] == [
        ("broken.tf", 2, 16),
        ("modules/m/main.tf", 3, 1),
    ]
    assert str(loaded.errors[0]).startswith("broken.tf:2:16: unexpected")
    assert [r.address for r in loaded.graph.resources()] == ["aws_vpc.b"]


def test_unusable_roots_raise_load_failure(tmp_path: Path) -> None:
    with pytest.raises(LoadFailure, match="not a directory"):
        load_hcl(tmp_path / "missing")
    with pytest.raises(LoadFailure, match=r"no \.tf"):
        load_hcl(tmp_path)


def test_cycles_and_deep_chains_are_unknown_not_a_crash(tmp_path: Path) -> None:
    chain = "\n".join(f"  l{i} = local.l{i + 1}" for i in range(300))
    loaded = load(
        tmp_path,
        {
            "main.tf": f"""
locals {{
  a = local.b
  b = local.a
{chain}
  l300 = "end"
  self_ref = "${{local.self_ref}}-x"
}}
resource "aws_vpc" "x" {{
  tags = {{
    cycle = local.a
    deep  = local.l0
    self  = local.self_ref
  }}
}}
resource "aws_vpc" "y" {{
  cidr_block = aws_vpc.z.cidr_block
}}
resource "aws_vpc" "z" {{
  cidr_block = aws_vpc.y.cidr_block
}}
""",
        },
    )
    tags = resource(loaded.graph, "aws_vpc.x").values["tags"]
    assert isinstance(tags, Unknown) or all(isinstance(v, Unknown) for v in tags.values())
    assert isinstance(resource(loaded.graph, "aws_vpc.y").values["cidr_block"], Unknown)


def test_module_that_calls_itself_is_bounded(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        {
            "main.tf": 'module "loop" {\n  source = "./m"\n}\n',
            "m/main.tf": 'module "again" {\n  source = "../m"\n}\nresource "aws_vpc" "v" {}\n',
        },
    )
    assert "module.loop.aws_vpc.v" in loaded.graph
    assert any("calls itself" in note for note in loaded.graph.notes)


def test_json_configuration_loads_like_hcl(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf.json": """{
  "variable": {"cidr": {"default": "10.9.0.0/16"}},
  "resource": {
    "aws_vpc": {"main": {"cidr_block": "${var.cidr}", "tags": {"Name": "main"}}},
    "aws_subnet": {"a": {
      "vpc_id": "${aws_vpc.main.id}",
      "cidr_block": "${cidrsubnet(var.cidr, 8, 1)}"
    }}
  }
}""",
        },
    ).graph
    assert resource(graph, "aws_vpc.main").values == {
        "cidr_block": "10.9.0.0/16",
        "tags": {"Name": "main"},
    }
    assert resource(graph, "aws_subnet.a").values["cidr_block"] == "10.9.1.0/24"
    assert targets(graph, "aws_subnet.a") == ["aws_vpc.main"]
    assert resource(graph, "aws_subnet.a").location.file == "main.tf.json"


def test_data_aws_region_names_the_provider_region(tmp_path: Path) -> None:
    graph = load(
        tmp_path,
        {
            "main.tf": """
provider "aws" { region = "ap-south-1" }
provider "aws" {
  alias = "noregion"
}
data "aws_region" "current" {}
resource "aws_vpc_endpoint" "s3" {
  service_name = "com.amazonaws.${data.aws_region.current.name}.s3"
}
resource "aws_vpc" "other" {
  provider = aws.noregion
}
resource "kubernetes_namespace" "ns" {}
""",
        },
    ).graph
    endpoint = resource(graph, "aws_vpc_endpoint.s3")
    assert endpoint.values["service_name"] == "com.amazonaws.ap-south-1.s3"
    other = resource(graph, "aws_vpc.other")
    assert other.provider == "aws.noregion"
    assert isinstance(other.region, Unknown)
    namespace = resource(graph, "kubernetes_namespace.ns")
    assert (namespace.provider, namespace.region) == ("kubernetes", None)


def test_root_without_provider_block_has_no_region(tmp_path: Path) -> None:
    graph = load(tmp_path, {"main.tf": 'resource "aws_vpc" "a" {}\n'}).graph
    assert resource(graph, "aws_vpc.a").region is None
    assert graph.providers == {}


def test_registry_module_idioms(tmp_path: Path) -> None:
    """Patterns terraform-aws-modules code relies on: optional(), try(), lookup, for/if."""
    graph = load(
        tmp_path,
        {
            "main.tf": """
variable "node_groups" {
  type = map(object({
    instance_types = optional(list(string), ["m5.large"])
    subnet_ids     = optional(list(string))
    min_size       = optional(number, 1)
  }))
  default = {
    default = {}
    gpu     = { instance_types = ["g5.xlarge"], min_size = 0 }
  }
}
variable "create" {
  type    = bool
  default = true
}
locals {
  create = var.create && true
  tags   = { for k, v in { a = "1", b = "" } : k => v if v != "" }
}
resource "aws_subnet" "private" {
  count      = 2
  cidr_block = "10.0.${count.index}.0/24"
}
resource "aws_eks_cluster" "this" {
  count = local.create ? 1 : 0
  name  = "c"
  vpc_config {
    subnet_ids              = aws_subnet.private[*].id
    endpoint_private_access = try(var.node_groups.default.private, true)
    endpoint_public_access  = lookup({}, "public", false)
  }
  tags = local.tags
}
resource "aws_eks_node_group" "this" {
  for_each        = { for k, v in var.node_groups : k => v if local.create }
  cluster_name    = aws_eks_cluster.this[0].name
  node_group_name = each.key
  instance_types  = each.value.instance_types
  subnet_ids      = coalesce(each.value.subnet_ids, aws_subnet.private[*].id)
  scaling_config {
    min_size = each.value.min_size
  }
}
""",
        },
    ).graph
    cluster = resource(graph, "aws_eks_cluster.this[0]")
    assert cluster.get("vpc_config.endpoint_private_access") is True
    assert cluster.get("vpc_config.endpoint_public_access") is False
    assert cluster.values["tags"] == {"a": "1"}
    gpu = resource(graph, 'aws_eks_node_group.this["gpu"]')
    assert gpu.values["instance_types"] == ["g5.xlarge"]
    assert gpu.values["scaling_config"] == [{"min_size": 0}]
    assert gpu.values["cluster_name"] == "c"
    default = resource(graph, 'aws_eks_node_group.this["default"]')
    assert default.values["instance_types"] == ["m5.large"]
    assert targets(graph, 'aws_eks_node_group.this["default"]', "subnet_ids") == [
        "aws_subnet.private[0]",
        "aws_subnet.private[1]",
    ]
    assert targets(graph, 'aws_eks_node_group.this["gpu"]', "cluster_name") == [
        "aws_eks_cluster.this[0]"
    ]
