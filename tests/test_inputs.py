"""Command-line paths to inputs: changed files map to the root modules that use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfcheck.inputs import resolve_inputs


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    for directory, text in {
        "envs/prod": 'module "vpc" {\n  source = "../../modules/vpc"\n}\n',
        "envs/dev": 'module "net" {\n  source = "../../modules/network"\n}\n',
        "modules/network": 'module "vpc" {\n  source = "../vpc"\n}\n',
        "modules/vpc": 'resource "aws_vpc" "this" {}\n',
        "standalone": 'resource "aws_vpc" "x" {}\n',
    }.items():
        (tmp_path / directory).mkdir(parents=True)
        (tmp_path / directory / "main.tf").write_text(text)
    (tmp_path / "envs/prod/terraform.tfvars").write_text('region = "eu-west-1"\n')
    (tmp_path / "plan.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_changed_files_map_to_their_root_modules_once(repo: Path) -> None:
    inputs, errors = resolve_inputs(
        ["envs/prod/main.tf", "envs/prod/terraform.tfvars", "standalone/main.tf"])
    assert errors == []
    assert [(i.kind, i.path) for i in inputs] == [
        ("hcl", repo / "envs/prod"), ("hcl", repo / "standalone")]
    assert [i.display for i in inputs] == ["envs/prod", "standalone"]


def test_a_changed_module_file_maps_to_a_root_that_calls_it(repo: Path) -> None:
    inputs, _ = resolve_inputs(["modules/network/main.tf"])
    assert [i.path for i in inputs] == [repo / "envs/dev"]
    # modules/vpc is called by envs/prod and (through modules/network) envs/dev: both
    # roots are scanned, each once
    inputs, _ = resolve_inputs(["modules/vpc/main.tf", "modules/network/main.tf"])
    assert [i.path for i in inputs] == [repo / "envs/dev", repo / "envs/prod"]


def test_directories_plans_stdin_and_missing_paths(repo: Path) -> None:
    inputs, errors = resolve_inputs(["standalone", "plan.json", "-", "nope.tf"])
    assert [(i.kind, i.display) for i in inputs] == [
        ("hcl", "standalone"), ("plan", "plan.json"), ("stdin", "<stdin>")]
    assert [(e.path, e.message) for e in errors] == [("nope.tf", "no such file or directory")]
