"""Override files (`override.tf`, `*_override.tf`, `.tf.json`): terraform's merge rules.

Each rule was checked against terraform 1.11 (`terraform validate` / `plan`): what the
plan shows for a base file plus an override file is what tfcheck must evaluate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfcheck.hcl.modules import ConfigLoader
from tfcheck.hcl.overrides import is_override_file
from tfcheck.loaders.hcl import HclLoad, load_hcl
from tfcheck.model import Location, Resource, Unknown

from .conftest import run_tfcheck

PROVIDER = """
provider "aws" {
  region = "eu-west-1"
}
"""

GROUP = """
resource "aws_security_group" "a" {
  name   = "a"
  vpc_id = "vpc-1"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  lifecycle {
    ignore_changes = [tags]
  }
}
"""


def load(root: Path, files: dict[str, str]) -> HclLoad:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_hcl(root)


def only(loaded: HclLoad, address: str) -> Resource:
    assert loaded.errors == []
    found = loaded.graph.get(address)
    assert found is not None, sorted(r.address for r in loaded.graph.resources())
    return found


@pytest.mark.parametrize(
    ("name", "override"),
    [
        ("override.tf", True),
        ("override.tf.json", True),
        ("dev_override.tf", True),
        ("dev_override.tf.json", True),
        ("myoverride.tf", False),  # no underscore: an ordinary file
        ("override.tfvars", False),
        ("main.tf", False),
    ],
)
def test_which_files_are_override_files(name: str, override: bool) -> None:
    assert is_override_file(name) is override


def test_an_attribute_is_replaced_and_points_at_the_override_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, {
        "main.tf": PROVIDER + GROUP,
        "case_override.tf": '\n\nresource "aws_security_group" "a" {\n  vpc_id = "vpc-2"\n}\n',
    })
    group = only(loaded, "aws_security_group.a")
    assert group.values["vpc_id"] == "vpc-2"
    assert group.values["name"] == "a"  # the attributes it does not name stay
    assert group.location == Location("main.tf", 6)  # the block keeps its own place
    assert group.location_of("vpc_id") == Location("case_override.tf", 4)
    assert group.location_of("name") == Location("main.tf", 7)


def test_nested_blocks_of_a_type_replace_all_of_that_type(tmp_path: Path) -> None:
    override = """
resource "aws_security_group" "a" {
  ingress {
    from_port   = 8443
    to_port     = 8443
    protocol    = "tcp"
    cidr_blocks = ["10.1.0.0/16"]
  }
}
"""
    loaded = load(tmp_path, {"main.tf": PROVIDER + GROUP, "x_override.tf": override})
    group = only(loaded, "aws_security_group.a")
    assert [rule["from_port"] for rule in group.values["ingress"]] == [8443]
    assert [rule["protocol"] for rule in group.values["egress"]] == ["-1"]  # other types stay
    assert group.location_of("ingress.cidr_blocks") == Location("x_override.tf", 7)
    assert group.location_of("egress.protocol").file == "main.tf"


def test_a_dynamic_block_replaces_static_blocks_and_the_reverse(tmp_path: Path) -> None:
    base = PROVIDER + """
locals {
  ports = [80, 443]
}
resource "aws_security_group" "a" {
  name = "a"
  ingress {
    from_port = 22
    to_port   = 22
    protocol  = "tcp"
  }
  dynamic "egress" {
    for_each = local.ports
    content {
      from_port = egress.value
      to_port   = egress.value
      protocol  = "tcp"
    }
  }
}
"""
    override = """
resource "aws_security_group" "a" {
  dynamic "ingress" {
    for_each = local.ports
    content {
      from_port = ingress.value
      to_port   = ingress.value
      protocol  = "tcp"
    }
  }
  egress {
    from_port = 0
    to_port   = 0
    protocol  = "-1"
  }
}
"""
    loaded = load(tmp_path, {"main.tf": base, "a_override.tf": override})
    group = only(loaded, "aws_security_group.a")
    assert [rule["from_port"] for rule in group.values["ingress"]] == [80, 443]
    assert [rule["protocol"] for rule in group.values["egress"]] == ["-1"]
    assert group.location_of("ingress.from_port") == Location("a_override.tf", 6)


def test_override_files_apply_after_the_others_in_lexical_order(tmp_path: Path) -> None:
    def named(name: str) -> str:
        return f'resource "aws_security_group" "a" {{\n  name = "{name}"\n}}\n'

    loaded = load(tmp_path, {
        "main.tf": PROVIDER + GROUP,
        # sorts before main.tf, still merged after it
        "a_override.tf": named("from-a"),
        "b_override.tf": named("from-b"),
        "override.tf": 'resource "aws_security_group" "a" {\n  vpc_id = "vpc-9"\n}\n',
    })
    group = only(loaded, "aws_security_group.a")
    assert group.values["name"] == "from-b"  # later files win
    assert group.values["vpc_id"] == "vpc-9"  # effects compound
    assert group.location_of("name") == Location("b_override.tf", 2)


def test_count_and_for_each_are_replaced_like_any_attribute(tmp_path: Path) -> None:
    base = PROVIDER + 'resource "aws_subnet" "s" {\n  count = 3\n  vpc_id = "vpc-1"\n}\n'
    override = 'resource "aws_subnet" "s" {\n  count = 1\n}\n'
    loaded = load(tmp_path, {"main.tf": base, "count_override.tf": override})
    assert [r.address for r in loaded.graph.resources()] == ["aws_subnet.s[0]"]


@pytest.mark.parametrize(("base", "override"), [
    ("count = 2", 'for_each = toset(["a", "b", "c"])'),
    ('for_each = toset(["a", "b", "c"])', "count = 2"),
])
def test_count_beside_for_each_after_an_override_is_what_expands(
    tmp_path: Path, base: str, override: str
) -> None:
    """An override adds `for_each` to a base with `count` (or the reverse): both stay.

    terraform 1.11 validates and plans it with `count` (two instances, `[0]` and `[1]`)
    whichever side wrote it, for resources and module calls alike.
    """
    files = {
        "main.tf": PROVIDER + f'resource "aws_subnet" "s" {{\n  {base}\n  vpc_id = "vpc-1"\n}}\n'
        + f'module "m" {{\n  source = "./m"\n  {base}\n}}\n',
        "main_override.tf": f'resource "aws_subnet" "s" {{\n  {override}\n}}\n'
        + f'module "m" {{\n  {override}\n}}\n',
        "m/main.tf": 'resource "aws_security_group" "g" {\n  vpc_id = "vpc-1"\n}\n',
    }
    loaded = load(tmp_path, files)
    assert loaded.errors == []
    assert sorted(r.address for r in loaded.graph.resources()) == [
        "aws_subnet.s[0]", "aws_subnet.s[1]",
        "module.m[0].aws_security_group.g", "module.m[1].aws_security_group.g"]


def test_each_in_a_body_that_count_expands_is_unknown(tmp_path: Path) -> None:
    """terraform: `Reference to "each" in context without for_each`.

    An error there; the evaluator reads `each` outside `for_each` as unknown, with an
    override or without, so nothing is decided from it.
    """
    files = {
        "main.tf": PROVIDER + 'resource "aws_subnet" "s" {\n'
        '  for_each = toset(["a", "b"])\n  vpc_id = each.key\n}\n',
        "main_override.tf": 'resource "aws_subnet" "s" {\n  count = 1\n}\n',
    }
    subnet = only(load(tmp_path, files), "aws_subnet.s[0]")
    assert isinstance(subnet.values["vpc_id"], Unknown)


def test_locals_are_overridden_one_name_at_a_time(tmp_path: Path) -> None:
    base = PROVIDER + """
locals {
  name = "base"
}
locals {
  vpc = "vpc-1"
}
resource "aws_security_group" "a" {
  name   = local.name
  vpc_id = local.vpc
}
"""
    loaded = load(tmp_path, {"main.tf": base, "l_override.tf": 'locals {\n  vpc = "vpc-2"\n}\n'})
    group = only(loaded, "aws_security_group.a")
    assert (group.values["name"], group.values["vpc_id"]) == ("base", "vpc-2")


def test_a_resource_lifecycle_is_merged_argument_by_argument(tmp_path: Path) -> None:
    override = (
        'resource "aws_security_group" "a" {\n'
        "  lifecycle {\n    create_before_destroy = true\n  }\n}\n"
    )
    (tmp_path / "main.tf").write_text(PROVIDER + GROUP)
    (tmp_path / "lc_override.tf").write_text(override)
    loader = ConfigLoader(tmp_path)
    block = loader.load().resources["aws_security_group.a"].block
    assert loader.errors == []
    lifecycles = [b for b in block.body.blocks if b.type == "lifecycle"]
    assert len(lifecycles) == 1
    assert sorted(lifecycles[0].body.attributes) == ["create_before_destroy", "ignore_changes"]
    assert len([b for b in block.body.blocks if b.type == "ingress"]) == 2  # untouched


def test_variable_default_and_output_value(tmp_path: Path) -> None:
    files = {
        "main.tf": PROVIDER + """
variable "vpc" {
  type    = string
  default = "vpc-1"
  validation {
    condition     = startswith(var.vpc, "vpc-")
    error_message = "a VPC ID"
  }
}
module "m" {
  source = "./m"
  vpc    = var.vpc
}
resource "aws_security_group" "a" {
  vpc_id = module.m.vpc
}
""",
        "v_override.tf": 'variable "vpc" {\n  default = "vpc-2"\n}\n',
        "m/main.tf": 'variable "vpc" {}\noutput "vpc" {\n  value = var.vpc\n}\n',
        "m/override.tf": 'output "vpc" {\n  value = "${var.vpc}-x"\n}\n',
    }
    group = only(load(tmp_path, files), "aws_security_group.a")
    assert group.values["vpc_id"] == "vpc-2-x"
    variable = ConfigLoader(tmp_path).load().variables["vpc"][0]
    assert [b.type for b in variable.body.blocks] == ["validation"]


def test_a_module_call_source_and_arguments(tmp_path: Path) -> None:
    files = {
        "main.tf": PROVIDER + 'module "m" {\n  source = "./one"\n  name   = "a"\n}\n',
        "m_override.tf": 'module "m" {\n  source = "./two"\n}\n',
        "one/main.tf": 'variable "name" {}\nresource "aws_vpc" "one" {}\n',
        "two/main.tf": (
            'variable "name" {}\nresource "aws_vpc" "two" {\n  tags = { Name = var.name }\n}\n'
        ),
    }
    vpc = only(load(tmp_path, files), "module.m.aws_vpc.two")
    assert vpc.values["tags"] == {"Name": "a"}


def test_provider_blocks(tmp_path: Path) -> None:
    files = {
        "main.tf": PROVIDER + """
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
resource "aws_vpc" "a" {
  provider = aws.west
}
""",
        "p_override.tf": 'provider "aws" {\n  alias  = "west"\n  region = "us-west-1"\n}\n',
    }
    assert only(load(tmp_path, files), "aws_vpc.a").region == "us-west-1"


def test_a_default_provider_override_needs_no_base(tmp_path: Path) -> None:
    files = {
        "main.tf": 'resource "aws_vpc" "a" {\n  cidr_block = "10.0.0.0/16"\n}\n',
        "override.tf": 'provider "aws" {\n  region = "ap-south-1"\n}\n',
    }
    assert only(load(tmp_path, files), "aws_vpc.a").region == "ap-south-1"


def test_json_override_file(tmp_path: Path) -> None:
    override = {"resource": {"aws_security_group": {"a": {"vpc_id": "vpc-json"}}}}
    loaded = load(tmp_path, {
        "main.tf": PROVIDER + GROUP, "gen_override.tf.json": json.dumps(override, indent=1),
    })
    group = only(loaded, "aws_security_group.a")
    assert group.values["vpc_id"] == "vpc-json"
    assert group.location_of("vpc_id").file == "gen_override.tf.json"


def test_a_suppression_in_the_override_block_counts(tmp_path: Path) -> None:
    override = (
        "# tfcheck:ignore PC401 reviewed with the network team\n"
        'resource "aws_security_group" "a" {\n  vpc_id = "vpc-2"\n}\n'
    )
    group = only(load(tmp_path, {"main.tf": PROVIDER + GROUP, "s_override.tf": override}),
                 "aws_security_group.a")
    assert [(s.rule, s.location) for s in group.suppressions] == [
        ("PC401", Location("s_override.tf", 1))
    ]


@pytest.mark.parametrize(
    ("override", "line", "column", "message"),
    [
        ('\nresource "aws_vpc" "nope" {\n  cidr_block = "10.0.0.0/16"\n}\n', 2, 1,
         'missing resource to override: there is no aws_vpc resource named "nope"'),
        ('data "aws_vpc" "a" {\n  id = "vpc-1"\n}\n', 1, 1,
         'missing data resource to override: there is no aws_vpc data resource named "a"'),
        ('locals {\n  x = 1\n\n  missing = 2\n}\n', 4, 3,
         'there is no local value named "missing"'),
        ('variable "nope" {\n  default = 1\n}\n', 1, 1, 'no variable named "nope"'),
        ('output "nope" {\n  value = 1\n}\n', 1, 1, 'no output named "nope"'),
        ('module "nope" {\n  source = "./x"\n}\n', 1, 1, 'no module call named "nope"'),
        ('provider "aws" {\n  alias = "east"\n}\n', 1, 1,
         'no aws provider configuration with the alias "east"'),
        ('resource "aws_security_group" "a" {\n  depends_on = [aws_vpc.a]\n}\n', 2, 3,
         "the depends_on argument may not be overridden"),
        ('moved {\n  from = aws_vpc.a\n  to   = aws_vpc.b\n}\n', 1, 1,
         "cannot override 'moved' blocks"),
    ],
)
def test_what_an_override_file_cannot_do_is_an_error(
    tmp_path: Path, override: str, line: int, column: int, message: str
) -> None:
    base = PROVIDER + GROUP + 'locals {\n  x = 0\n}\nresource "aws_vpc" "a" {}\n'
    loaded = load(tmp_path, {"main.tf": base, "bad_override.tf": override})
    [error] = loaded.errors
    assert (error.path, error.line, error.column) == ("bad_override.tf", line, column)
    assert message in error.message


def test_an_unmatched_override_block_exits_2_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(PROVIDER + GROUP)
    (tmp_path / "case_override.tf").write_text('# typo\nresource "aws_security_group" "b" {}\n')
    result = run_tfcheck("scan", str(tmp_path), "--format", "json", cwd=tmp_path)
    assert result.returncode == 2
    assert "tfcheck: error: " in result.stderr
    assert "case_override.tf:2:1: missing resource to override" in result.stderr


def test_a_case_built_on_a_symlinked_base(tmp_path: Path) -> None:
    """The fixture layout: `main.tf` links to a sibling's file inside the repository."""
    (tmp_path / ".git").mkdir()  # the repository top: reads are confined below it
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "main.tf").write_text(PROVIDER + GROUP)
    case = tmp_path / "case"
    case.mkdir()
    (case / "main.tf").symlink_to("../base/main.tf")
    (case / "case_override.tf").write_text(
        'resource "aws_security_group" "a" {\n  vpc_id = "vpc-2"\n}\n'
    )
    group = only(load_hcl(case), "aws_security_group.a")
    assert group.location == Location("main.tf", 6)  # named as the case directory holds it
    assert group.location_of("vpc_id") == Location("case_override.tf", 2)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "main.tf").write_text(PROVIDER + GROUP)
    inner = tmp_path / "inner"
    (inner / ".git").mkdir(parents=True)  # a repository whose link leaves it
    (inner / "main.tf").symlink_to(outside / "main.tf")
    (inner / "x_override.tf").write_text('resource "aws_security_group" "a" {}\n')
    errors = load_hcl(inner).errors
    assert [e.path for e in errors] == ["main.tf", "x_override.tf"]
    assert "outside the scanned root" in errors[0].message


def test_an_error_in_an_overriding_expression_names_the_override_file(tmp_path: Path) -> None:
    base = PROVIDER + """
variable "names" {
  type      = list(string)
  default   = ["a"]
  sensitive = true
}
resource "aws_subnet" "s" {
  vpc_id = "vpc-1"
}
"""
    override = 'resource "aws_subnet" "s" {\n\n  for_each = toset(var.names)\n}\n'
    loaded = load(tmp_path, {"main.tf": base, "each_override.tf": override})
    [error] = loaded.errors
    assert (error.path, error.line) == ("each_override.tf", 3)
    assert "sensitive" in error.message
