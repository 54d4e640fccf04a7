"""The plan loader: values, unknowns, sensitivity, references mapped onto instances."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from tfcheck.loaders import LoadFailure
from tfcheck.loaders.plan import load_plan, load_plan_file, read_plan_document
from tfcheck.model import Sensitive, Unknown

REPO = Path(__file__).resolve().parent.parent
MODULES_ALIASES = REPO / "fixtures" / "loader" / "modules-aliases" / "plan.json"


def targets(graph: Any, address: str, attribute: str | None = None) -> list[str]:
    resource = graph.get(address)
    assert resource is not None, address
    return [r.address for r in graph.references(resource, attribute)]


# -- a real plan: modules, count modules, provider aliases, sensitive values ----------


@pytest.fixture(scope="module")
def real_graph() -> Any:
    return load_plan_file(MODULES_ALIASES)


def test_instances_keep_full_addresses(real_graph: Any) -> None:
    addresses = [r.address for r in real_graph.resources()]
    assert "module.net.aws_subnet.s[1]" in addresses
    assert "module.multi[1].aws_subnet.s[0]" in addresses
    assert "aws_route_table_association.a[0]" in addresses


def test_module_output_references_reach_the_module_instances(real_graph: Any) -> None:
    assert targets(real_graph, "aws_eks_cluster.c", "vpc_config.subnet_ids") == [
        "module.net.aws_subnet.s[0]",
        "module.net.aws_subnet.s[1]",
    ]


def test_count_index_into_a_module_output_picks_the_same_index(real_graph: Any) -> None:
    assert targets(real_graph, "aws_route_table_association.a[1]", "subnet_id") == [
        "module.net.aws_subnet.s[1]"
    ]


def test_count_module_instances_reference_their_own_resources(real_graph: Any) -> None:
    assert targets(real_graph, "module.multi[1].aws_subnet.s[0]") == [
        "module.multi[1].aws_vpc.v"
    ]


def test_provider_alias_passed_to_a_module_sets_the_region(real_graph: Any) -> None:
    assert real_graph.get("module.net.aws_vpc.v").region == "us-west-2"
    assert real_graph.get("module.net.aws_vpc.v").provider == "aws.west"
    assert real_graph.get("module.multi[0].aws_vpc.v").region == "eu-west-1"
    assert real_graph.get("aws_eks_cluster.c").region == "eu-west-1"


def test_values_known_after_apply_are_explicit_unknowns(real_graph: Any) -> None:
    subnet = real_graph.get("module.net.aws_subnet.s[0]")
    vpc_id = subnet.get("vpc_id")
    assert isinstance(vpc_id, Unknown)
    assert "known only after apply" in vpc_id.reason
    assert subnet.get("cidr_block") == "10.0.0.0/24"


def test_sensitive_values_are_wrapped(real_graph: Any) -> None:
    value = real_graph.get("aws_ssm_parameter.s").values["value"]
    assert isinstance(value, Sensitive)
    assert "hunter2" not in repr(value) and "hunter2" not in str(value)


def test_configured_paths_tell_defaults_from_unknowns(real_graph: Any) -> None:
    cluster = real_graph.get("aws_eks_cluster.c")
    assert cluster.sets("vpc_config.endpoint_private_access")
    assert not cluster.sets("vpc_config.endpoint_public_access")
    # planned_values holds the provider's own default here
    assert cluster.get("vpc_config.endpoint_public_access") is True


# -- hand-written documents: the corners real plans have --------------------------------


def plan(resources: list[dict[str, Any]], config_resources: list[dict[str, Any]],
         changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": changes or [],
        "configuration": {
            "provider_config": {"aws": {"name": "aws",
                                        "expressions": {"region": {"references": ["var.region"]}}}},
            "root_module": {"resources": config_resources},
        },
        "variables": {"region": {"value": "eu-central-1"}},
    }


def test_optional_computed_attribute_not_configured_takes_the_provider_default() -> None:
    document = plan(
        [{"address": "aws_vpc_endpoint.ecr", "mode": "managed", "type": "aws_vpc_endpoint",
          "name": "ecr", "values": {"service_name": "com.amazonaws.eu-central-1.ecr.dkr"}}],
        [{"address": "aws_vpc_endpoint.ecr", "mode": "managed", "type": "aws_vpc_endpoint",
          "name": "ecr", "provider_config_key": "aws",
          "expressions": {"service_name": {"constant_value": "x"},
                          "vpc_endpoint_type": {"references": ["local.kind"]}}}],
        [{"address": "aws_vpc_endpoint.ecr", "change": {
            "actions": ["create"], "after": {},
            "after_unknown": {"private_dns_enabled": True, "vpc_endpoint_type": True}}}],
    )
    endpoint = load_plan(document, "p.json").get("aws_vpc_endpoint.ecr")
    assert endpoint is not None
    assert endpoint.get("private_dns_enabled") is False  # never set: provider default
    kind = endpoint.get("vpc_endpoint_type")  # set to something the plan cannot give
    assert isinstance(kind, Unknown) and kind.references == ("local.kind",)
    assert endpoint.region == "eu-central-1"  # provider region from a root variable
    assert endpoint.actions == ("create",)


def test_count_index_reference_maps_to_the_same_instance() -> None:
    subnets = [{"address": f"aws_subnet.p[{i}]", "mode": "managed", "type": "aws_subnet",
                "name": "p", "index": i, "values": {}} for i in range(3)]
    assocs = [{"address": f"aws_route_table_association.a[{i}]", "mode": "managed",
               "type": "aws_route_table_association", "name": "a", "index": i, "values": {}}
              for i in range(3)]
    document = plan(subnets + assocs, [
        {"address": "aws_subnet.p", "mode": "managed", "type": "aws_subnet", "name": "p",
         "expressions": {}},
        {"address": "aws_route_table_association.a", "mode": "managed",
         "type": "aws_route_table_association", "name": "a",
         "expressions": {"subnet_id": {"references": [
             "aws_subnet.p[0].id", "aws_subnet.p[0]", "aws_subnet.p"]},
             "route_table_id": {"references": ["aws_subnet.p", "count.index"]}}},
    ])
    graph = load_plan(document, "p.json")
    # the most specific reference wins
    assert targets(graph, "aws_route_table_association.a[2]", "subnet_id") == ["aws_subnet.p[0]"]
    assert targets(graph, "aws_route_table_association.a[2]", "route_table_id") == [
        "aws_subnet.p[2]"]


def test_for_each_keys_with_dots_and_quotes_survive() -> None:
    address = 'aws_vpc_endpoint.this["ecr.api"]'
    document = plan(
        [{"address": address, "mode": "managed", "type": "aws_vpc_endpoint", "name": "this",
          "index": "ecr.api", "values": {}}],
        [{"address": "aws_vpc_endpoint.this", "mode": "managed", "type": "aws_vpc_endpoint",
          "name": "this", "expressions": {}}],
    )
    resource = load_plan(document, "p.json").get(address)
    assert resource is not None and resource.index == "ecr.api"
    assert resource.config_address == "aws_vpc_endpoint.this"


def test_deleted_resources_are_not_in_the_graph() -> None:
    document = plan([], [], [{"address": "aws_vpc.old", "mode": "managed", "type": "aws_vpc",
                              "name": "old", "change": {"actions": ["delete"], "after": None}}])
    assert "aws_vpc.old" not in load_plan(document, "p.json")


def test_literal_ids_link_to_pre_existing_resources() -> None:
    document = plan([], [])
    document["prior_state"] = {"values": {"root_module": {"resources": [
        {"address": "aws_vpc.shared", "mode": "managed", "type": "aws_vpc", "name": "shared",
         "values": {"id": "vpc-0abc"}}]}}}
    document["planned_values"]["root_module"]["resources"] = [
        {"address": "aws_subnet.a", "mode": "managed", "type": "aws_subnet", "name": "a",
         "values": {"vpc_id": "vpc-0abc", "tags": {"Name": "vpc-0abc"}}}]
    graph = load_plan(document, "p.json")
    assert list(graph.edges()) == [("aws_subnet.a", "aws_vpc.shared", "vpc_id")]


# -- reading bytes ----------------------------------------------------------------------


def test_utf16_plans_decode() -> None:
    text = json.dumps({"format_version": "0.1", "planned_values": {"root_module": {}}})
    for data in (codecs.BOM_UTF16_LE + text.encode("utf-16-le"), text.encode("utf-16-le"),
                 codecs.BOM_UTF8 + text.encode()):
        assert read_plan_document(data, "p.json")["format_version"] == "0.1"


@pytest.mark.parametrize(("data", "message", "line", "column"), [
    (b'{\n  "format_version": "1.2",\n  "planned_values": {,}\n}', "invalid JSON", 3, 22),
    (b'{"format_version": "2.0", "planned_values": {}}', "unsupported plan format_version",
     None, None),
    (b'[1, 2]', "not a terraform plan", None, None),
    (b'{"hello": 1}', "not a terraform plan", None, None),
    (b"PK\x03\x04rest", "binary plan file", None, None),
    (b"\xff\xfe\x00\xd8", "cannot decode", None, None),
])
def test_unreadable_documents_fail_with_a_located_message(
    data: bytes, message: str, line: int | None, column: int | None
) -> None:
    with pytest.raises(LoadFailure) as caught:
        read_plan_document(data, "bad.json")
    error = caught.value.error
    assert error.path == "bad.json"
    assert message in error.message
    assert (error.line, error.column) == (line, column)


def test_deeply_nested_json_is_an_input_error() -> None:
    with pytest.raises(LoadFailure):
        read_plan_document(b"[" * 100_000 + b"]" * 100_000, "deep.json")
