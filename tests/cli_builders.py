"""Hand-written plan documents for the command-line and engine tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def cluster_plan(private: bool | None, public: bool | None,
                 cidrs: list[str] | None = None) -> dict[str, Any]:
    """A minimal `terraform show -json` document with one cluster (written by hand)."""
    vpc_config: dict[str, Any] = {"subnet_ids": ["subnet-0aaa", "subnet-0bbb"]}
    expressions: dict[str, Any] = {"subnet_ids": {"constant_value": ["subnet-0aaa"]}}
    for key, value in (("endpoint_private_access", private),
                       ("endpoint_public_access", public), ("public_access_cidrs", cidrs)):
        if value is not None:
            vpc_config[key] = value
            expressions[key] = {"constant_value": value}
    return {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [{
            "address": "aws_eks_cluster.main", "mode": "managed", "type": "aws_eks_cluster",
            "name": "main", "values": {"name": "main", "vpc_config": [vpc_config]}}]}},
        "resource_changes": [{"address": "aws_eks_cluster.main", "change": {
            "actions": ["create"], "after_unknown": {}}}],
        "configuration": {"root_module": {"resources": [{
            "address": "aws_eks_cluster.main", "mode": "managed", "type": "aws_eks_cluster",
            "name": "main", "provider_config_key": "aws",
            "expressions": {"name": {"constant_value": "main"},
                            "vpc_config": [expressions]}}]}},
    }


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
