"""The `tfcheck` pre-commit hook, run by the real `pre-commit` against a fixture repository.

pre-commit clones the hook repository at a revision and pip-installs it, so the hook
under test must be committed somewhere: the working tree (uncommitted changes
included) is copied into a throw-away git repository and committed there. Installing
the hook's environment needs PyPI for the dependencies and takes a while, so it
happens once per module (one PRE_COMMIT_HOME for every run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .conftest import FIXTURES, REPO

pytestmark = [
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
    pytest.mark.slow,  # installs the hook's environment from PyPI
]

HOOKS_FILE = REPO / ".pre-commit-hooks.yaml"


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=tfcheck tests", "-c", "user.email=tests@example.invalid",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout


def assert_names_file(output: str, path: str) -> None:
    """Several root modules have a main.tf: the output must say which one failed."""
    assert path in output, output


def test_manifest_is_what_pre_commit_accepts() -> None:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    (hook,) = clientlib.load_manifest(str(HOOKS_FILE))
    assert {k: hook[k] for k in ("id", "entry", "language", "files", "pass_filenames",
                                 "require_serial")} == {
        "id": "tfcheck", "entry": "tfcheck scan --pre-commit", "language": "python",
        "files": r"\.(tf|tfvars)(\.json)?$", "pass_filenames": True, "require_serial": True}
    assert hook["always_run"] is True  # a commit that only deletes must still run it
    pattern = re.compile(hook["files"])
    for name in ("main.tf", "main.tf.json", "prod.tfvars", "prod.tfvars.json"):
        assert pattern.search(name), name
    assert not pattern.search("main.tfstate") and not pattern.search("README.md")
    assert yaml.safe_load(HOOKS_FILE.read_text())[0]["id"] == "tfcheck"


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this working tree as one commit, and that commit's SHA."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: cannot tell which files belong to the project")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    destination = tmp_path_factory.mktemp("hook-repo")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # deleted but not yet committed: skip
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "tfcheck working tree under test", cwd=destination)
    return destination, git("rev-parse", "HEAD", cwd=destination).strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory,
            hook_repo: tuple[Path, str]) -> Iterator[Path]:
    """fixtures/precommit/ as a git repository configured to use the hook under test."""
    repo_path, revision = hook_repo
    destination = tmp_path_factory.mktemp("project")
    shutil.copytree(FIXTURES / "precommit", destination, dirs_exist_ok=True)
    config = {"repos": [{"repo": str(repo_path), "rev": revision,
                         "hooks": [{"id": "tfcheck"}]}]}
    (destination / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "fixture", cwd=destination)
    yield destination


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1",
           "PRE_COMMIT_COLOR": "never", "GIT_AUTHOR_NAME": "t", "GIT_COMMITTER_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--color=never", *args],
                          cwd=project, env=env, capture_output=True, text=True, check=False,
                          timeout=900)


def test_all_files_fails_on_the_bad_root_module(project: Path, pre_commit_home: Path) -> None:
    result = pre_commit(project, pre_commit_home, "--all-files")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "tfcheck" in output and "Failed" in output, output
    assert "- exit code: 1" in output, output
    assert "PC101" in output, output
    assert "aws_eks_cluster.main" in output, output
    assert "Traceback" not in output, output
    assert_names_file(output, "bad/main.tf")


def test_changed_file_in_the_good_module_passes(project: Path, pre_commit_home: Path) -> None:
    result = pre_commit(project, pre_commit_home, "--files", "good/main.tf")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output, output
    assert "PC101" not in output, output


def test_a_tfvars_file_scans_its_root_module(project: Path, pre_commit_home: Path) -> None:
    result = pre_commit(project, pre_commit_home, "--files", "bad/terraform.tfvars")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "PC101" in output, output
    assert_names_file(output, "bad/main.tf")


def test_files_the_hook_does_not_match_skip_it(project: Path, pre_commit_home: Path) -> None:
    result = pre_commit(project, pre_commit_home, "--files", "README.md")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tfcheck" in output and "Passed" in output, output
    assert "PC" not in output, output


def commit(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """`git commit` with the hook installed, as a developer runs it."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1",
           "PRE_COMMIT_COLOR": "never"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=project, env=env,
                   capture_output=True, check=True)
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c",
         "commit.gpgsign=false", "commit", "-m", "change"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=900)


def test_a_commit_deleting_the_endpoints_is_blocked(project: Path,
                                                    pre_commit_home: Path) -> None:
    git("rm", "-q", "split/endpoints.tf", cwd=project)
    try:
        result = commit(project, pre_commit_home)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "PC301" in output and "split/main.tf" in output, output
    finally:
        git("reset", "-q", "HEAD", "--", "split/endpoints.tf", cwd=project)
        git("checkout", "--", "split/endpoints.tf", cwd=project)


def test_a_commit_of_a_tfvars_only_folder_passes(project: Path, pre_commit_home: Path) -> None:
    (project / "tfvars/prod.tfvars").write_text('region       = "eu-west-2"\n'
                                                'cluster_name = "prod"\n')
    git("add", "tfvars/prod.tfvars", cwd=project)
    result = commit(project, pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tfcheck" in output and "Passed" in output, output
