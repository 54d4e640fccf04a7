"""Command-line paths to inputs: changed files map to the root modules that use them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tfcheck.inputs as inputs_module
from tfcheck.inputs import repository_root, resolve_inputs


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


def test_a_directory_without_tf_files_means_every_root_module_below_it(repo: Path) -> None:
    (repo / ".terraform/modules/x").mkdir(parents=True)
    (repo / ".terraform/modules/x/main.tf").write_text('resource "aws_vpc" "y" {}\n')
    (repo / ".hidden").mkdir()
    (repo / ".hidden/main.tf").write_text('resource "aws_vpc" "y" {}\n')
    (repo / "json-root").mkdir()
    (repo / "json-root/main.tf.json").write_text('{"resource": {}}')
    inputs, errors = resolve_inputs(["."])
    assert errors == []
    # modules/network and modules/vpc are called by the roots: not roots themselves
    assert [(i.kind, i.display) for i in inputs] == [
        ("hcl", "envs/dev"), ("hcl", "envs/prod"), ("hcl", "json-root"), ("hcl", "standalone")]
    inputs, _ = resolve_inputs(["envs"])
    assert [i.display for i in inputs] == ["envs/dev", "envs/prod"]


def test_an_empty_tree_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    _, errors = resolve_inputs([str(tmp_path)])
    assert [e.message for e in errors] == [
        "no .tf or .tf.json files in this directory or below it"]


def test_a_tfvars_file_outside_any_module_names_no_root(repo: Path) -> None:
    (repo / "tfvars").mkdir()
    (repo / "tfvars/prod.tfvars").write_text('region = "eu-west-1"\n')
    (repo / "tfvars/prod.tfvars.json").write_text('{"region": "eu-west-1"}\n')
    assert resolve_inputs(["tfvars/prod.tfvars", "tfvars/prod.tfvars.json"]) == ([], [])


def test_a_deleted_file_still_names_its_root_module(repo: Path) -> None:
    inputs, errors = resolve_inputs([], deleted=["envs/prod/endpoints.tf",
                                                 "modules/vpc/gone.tf.json"])
    assert errors == []
    assert [i.display for i in inputs] == ["envs/prod", "envs/dev"]
    # a whole module removed: the roots that still call it are scanned (and will say so)
    (repo / "modules/vpc/main.tf").unlink()
    (repo / "modules/vpc").rmdir()
    inputs, _ = resolve_inputs([], deleted=["modules/vpc/main.tf"])
    assert [i.display for i in inputs] == ["envs/dev", "envs/prod"]
    # given as a path (`git diff --name-only` lists deletions too): the same
    assert [i.display for i in resolve_inputs(["envs/dev/gone.tf"])[0]] == ["envs/dev"]
    # a missing file that names no root module stays an error
    assert resolve_inputs(["nope/gone.tf"])[1][0].message == "no such file or directory"


def test_walks_stay_inside_and_a_limit_is_an_error(repo: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    outside = repo.parent / f"{repo.name}-outside"
    outside.mkdir()
    (outside / "main.tf").write_text('resource "aws_vpc" "z" {}\n')
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    (repo / "fifo-dir").mkdir()
    os.mkfifo(repo / "fifo-dir/pipe.tf")
    inputs, errors = resolve_inputs(["."])
    assert errors == [] and "linked" not in {i.display for i in inputs}
    assert "fifo-dir" not in {i.display for i in inputs}
    monkeypatch.setattr(inputs_module, "MAX_FILES_WALKED", 3)
    _, errors = resolve_inputs(["."])
    assert [e.path for e in errors] == ["."]
    assert "more than 3 .tf files" in errors[0].message
    assert "MAX_FILES_WALKED" in errors[0].message


def test_repository_root_is_the_nearest_git_directory_above(repo: Path) -> None:
    assert repository_root(["envs/prod/main.tf"]) == repo
    assert repository_root(["-"]) == Path.cwd()


def test_a_tf_file_over_the_byte_limit_is_an_error_not_a_truncation(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs_module, "MAX_SOURCE_BYTES", 10)
    _, errors = resolve_inputs(["modules/vpc/main.tf"])
    assert len(errors) == 1 and "MAX_SOURCE_BYTES" in errors[0].message
