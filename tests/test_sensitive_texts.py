"""The sensitive texts redaction looks for: recorded by the plan loader, walked for HCL.

A plan's `after_sensitive`/`sensitive_values` masks say where every sensitive value is,
so the plan loader records their texts as it wraps them (`sensitive_values_complete`)
and the engine no longer walks every value of every resource. These tests hold the
recorded set to what the walk finds (nested lists of objects, `for_each` instances,
numbers, every plan fixture), and the HCL loader to the walk it still needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tfcheck import engine
from tfcheck.engine import scan
from tfcheck.graph import ResourceGraph
from tfcheck.loaders.hcl import load_hcl
from tfcheck.loaders.plan import load_plan, load_plan_file
from tfcheck.model import Sensitive, sensitive_strings
from tfcheck.report import FORMATS, RenderOptions, renderer

REPO = Path(__file__).resolve().parent.parent
CANARY = "CANARYpq4SECRETv7"
PORT = 48213  # a sensitive number: its text is "48213"


def walked(graph: ResourceGraph) -> set[str]:
    """What the engine's walk over every value finds (the reference answer)."""
    return {text for resource in graph.resources()
            for text in sensitive_strings(resource.values)}


def _group(key: str) -> dict[str, Any]:
    address = f'aws_security_group.g["{key}"]'
    values = {
        "name": f"g-{key}", "vpc_id": "vpc-1",
        "ingress": [
            {"description": "plain", "from_port": 443, "to_port": 443, "protocol": "tcp",
             "cidr_blocks": ["10.0.0.0/8"]},
            {"description": f"{CANARY}-{key}", "from_port": PORT, "to_port": PORT,
             "protocol": "tcp", "cidr_blocks": ["10.9.0.0/16", f"{CANARY}-cidr-{key}"],
             "weight": 2.5},
        ],
    }
    mask = {"ingress": [{}, {"description": True, "from_port": True,
                             "cidr_blocks": [False, True], "weight": True}]}
    return {
        "planned": {"address": address, "mode": "managed", "type": "aws_security_group",
                    "name": "g", "index": key, "values": values,
                    "sensitive_values": mask},
        "change": {"address": address, "mode": "managed", "type": "aws_security_group",
                   "name": "g", "index": key,
                   "change": {"actions": ["create"], "after": values,
                              "after_unknown": {"id": True, "arn": True},
                              "after_sensitive": mask}},
    }


def nested_plan() -> dict[str, Any]:
    """`for_each` instances whose sensitive values sit in a list of objects."""
    groups = [_group(key) for key in ("a", "b")]
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [g["planned"] for g in groups]}},
        "resource_changes": [g["change"] for g in groups],
        "configuration": {"root_module": {"resources": [{
            "address": "aws_security_group.g", "mode": "managed",
            "type": "aws_security_group", "name": "g", "provider_config_key": "aws",
            "expressions": {"name": {"references": ["each.key"]},
                            "vpc_id": {"constant_value": "vpc-1"}},
            "for_each_expression": {"constant_value": ["a", "b"]},
        }]}},
    }


def test_the_plan_loader_records_every_wrapped_text() -> None:
    graph = load_plan(nested_plan(), "p.json")
    group = graph.get('aws_security_group.g["b"]')
    assert group is not None
    rule = group.values["ingress"][1]
    assert isinstance(rule["description"], Sensitive)
    assert isinstance(rule["cidr_blocks"][1], Sensitive)
    assert graph.sensitive_values_complete
    expected = {f"{CANARY}-a", f"{CANARY}-b", f"{CANARY}-cidr-a", f"{CANARY}-cidr-b",
                str(PORT), "2.5"}
    assert graph.sensitive_values == walked(graph) == expected
    assert {f"{CANARY}-a", str(PORT)} <= engine._secret_texts(graph)


def test_a_scan_of_a_plan_does_not_walk_every_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(nested_plan()))
    calls: list[object] = []

    def counting(value: object, inside: bool = False) -> Any:
        calls.append(value)
        return sensitive_strings(value, inside)

    monkeypatch.setattr(engine, "sensitive_strings", counting)
    report = scan([plan])
    assert not report.input_errors and not report.internal_errors
    assert calls == []  # the loader's set is used as it is
    options = RenderOptions(show_passed=True, repo_root=str(tmp_path))
    for name in FORMATS:
        assert CANARY not in renderer(name)(report, options), name


@pytest.mark.parametrize("plan", sorted(
    p for p in (REPO / "fixtures").rglob("*.json")
    if '"format_version"' in p.read_text(errors="replace")),
    ids=lambda p: str(p.relative_to(REPO)))
def test_every_fixture_plan_records_what_the_walk_finds(plan: Path) -> None:
    try:
        graph = load_plan_file(plan)
    except Exception:  # noqa: BLE001 - fixtures of refused inputs: nothing to compare
        pytest.skip("not a loadable plan")
    assert walked(graph) == graph.sensitive_values


def test_hcl_graphs_are_still_walked(tmp_path: Path) -> None:
    """The evaluator records what it marks, not every text a type conversion or a
    rewrapping gives: for HCL the engine walks the values and adds what it finds."""
    (tmp_path / "main.tf").write_text(
        'variable "s" {\n  default   = "' + CANARY + '"\n  sensitive = true\n}\n'
        'variable "on" {\n  type      = string\n  default   = true\n  sensitive = true\n}\n'
        'resource "aws_security_group" "g" {\n'
        '  for_each = toset(["a", "b"])\n'
        '  name     = "g-${each.key}"\n'
        "  ingress {\n"
        "    description = var.s\n"
        "    from_port   = 443\n"
        "    to_port     = 443\n"
        '    protocol    = "tcp"\n'
        '    cidr_blocks = ["10.0.0.0/8", var.on]\n'
        "  }\n"
        "}\n")
    graph = load_hcl(tmp_path).graph
    group = graph.get('aws_security_group.g["a"]')
    assert group is not None
    assert isinstance(group.values["ingress"][0]["description"], Sensitive)
    assert not graph.sensitive_values_complete
    texts = engine._secret_texts(graph)
    assert CANARY in texts and walked(graph) - {"true"} <= texts
    assert "true" in walked(graph) and "true" in texts  # only the walk finds the converted bool
