"""`tfcheck images`: the image mirror plan (tfcheck/images.py) and its command."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tfcheck.config import Config
from tfcheck.images import (
    AWS_REGIONAL,
    COPY,
    PULL_THROUGH,
    UPSTREAMS,
    MirrorPlan,
    mirror_plan,
    plan_for_graph,
    render,
)
from tfcheck.model import Sensitive, Unknown
from tfcheck.policy import ScanContext

from .conftest import REPO, run_tfcheck
from .workload_builders import cluster, container, deployment, graph_of, helm

CASE = REPO / "fixtures" / "workloads" / "images-mirror-plan"
OWN = "111122223333.dkr.ecr.eu-west-1.amazonaws.com"


def plan_of(*resources: object, config: Config | None = None,
            account: str | None = None) -> MirrorPlan:
    ctx = ScanContext(graph_of(cluster("main"), *resources),  # type: ignore[arg-type]
                      config or Config())
    return plan_for_graph(ctx, account)


def web(*images: str | Unknown) -> object:
    return deployment("kubernetes_deployment_v1.web",
                      *(container(f"c{i}", image) for i, image in enumerate(images)))


class TestPlan:
    def test_each_kind_of_registry(self) -> None:
        plan = plan_of(web(f"{OWN}/web:1", "nginx:1.25", "quay.io/x/y:2", "gcr.io/p/app:3",
                           "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9"))
        by_ref = {i.reference: i for i in plan.images}
        assert by_ref[f"{OWN}/web:1"].private_reachable is True
        assert by_ref[f"{OWN}/web:1"].mirror is None
        nginx = by_ref["nginx:1.25"]
        assert (nginx.private_reachable, nginx.method) == (False, PULL_THROUGH)
        assert nginx.mirror == f"{OWN}/docker-hub/library/nginx:1.25"
        assert by_ref["quay.io/x/y:2"].mirror == f"{OWN}/quay/x/y:2"
        gcr = by_ref["gcr.io/p/app:3"]
        assert (gcr.method, gcr.mirror) == (COPY, f"{OWN}/p/app:3")
        pause = by_ref["602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9"]
        assert (pause.method, pause.mirror) == (
            AWS_REGIONAL, "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/pause:3.9")
        assert [u.prefix for u in plan.to_cache] == ["quay", "docker-hub"]
        assert [i.reference for i in plan.to_copy] == ["gcr.io/p/app:3"]

    def test_account_inferred_from_own_ecr_or_given(self) -> None:
        assert plan_of(web(f"{OWN}/a:1", "nginx:1")).account == "111122223333"
        assert plan_of(web("nginx:1")).account == "<account>"
        given = plan_of(web(f"{OWN}/a:1", "nginx:1"), account="999988887777")
        assert given.images[1].mirror == ("999988887777.dkr.ecr.eu-west-1.amazonaws.com/"
                                          "docker-hub/library/nginx:1")

    def test_allowed_registry_is_reachable(self) -> None:
        plan = plan_of(web("registry.corp.internal/app:1"),
                       config=Config(allowed_registries=("registry.corp.internal",)))
        assert [(i.private_reachable, i.mirror) for i in plan.images] == [(True, None)]

    def test_one_entry_per_image_with_every_user(self) -> None:
        plan = plan_of(web("nginx:1.25"), deployment(
            "kubernetes_deployment_v1.other", container("x", "nginx:1.25")))
        (image,) = plan.images
        assert image.used_by == ("kubernetes_deployment_v1.other", "kubernetes_deployment_v1.web")

    def test_unknown_and_sensitive_images_are_listed_apart(self) -> None:
        secret = container("s", "secret.example/app:1")
        secret["image"] = Sensitive("secret.example/app:1")
        plan = plan_of(web(Unknown("variable image has no value")),
                       deployment("kubernetes_deployment_v1.s", secret))
        assert plan.images == ()
        assert "variable image has no value" in plan.unnamed[0]
        table = render(plan, "table")
        assert "secret.example" not in table + render(plan, "json")
        assert "not shown: kubernetes_deployment_v1.s" in table

    def test_helm_tag_and_chart_defaults(self) -> None:
        plan = plan_of(helm("helm_release.efs", "aws-efs-csi-driver", values=[
            "image:\n  repository: 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/"
            "aws-efs-csi-driver\n  tag: v2.0.4\n"]),
            helm("helm_release.ms", "metrics-server"))
        refs = {i.reference: i for i in plan.images}
        assert "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efs-csi-driver:v2.0.4" in refs
        default = refs["registry.k8s.io/metrics-server/metrics-server"]
        assert default.mirror == "<account>.dkr.ecr.eu-west-1.amazonaws.com/kubernetes/" \
                                 "metrics-server/metrics-server"

    def test_unknown_region_keeps_ecr_images_undecided(self) -> None:
        graph = graph_of(web(f"{OWN}/a:1", "nginx:1"))  # no cluster, no provider region
        plan = plan_for_graph(ScanContext(graph, Config()))
        by_ref = {i.reference: i for i in plan.images}
        assert by_ref[f"{OWN}/a:1"].private_reachable is None
        assert by_ref["nginx:1"].mirror == "<account>.dkr.ecr.<region>.amazonaws.com/" \
                                            "docker-hub/library/nginx:1"


class TestRender:
    def test_json_has_exactly_the_documented_keys(self) -> None:
        document = json.loads(render(plan_of(web("nginx:1.25")), "json"))
        (image,) = document["images"]
        assert set(image) == {"reference", "registry", "private_reachable", "used_by", "mirror"}

    def test_hcl_rules_with_credentials_where_needed(self) -> None:
        hcl = render(plan_of(web("nginx:1", "ghcr.io/a/b:1", "public.ecr.aws/c/d:1")), "hcl")
        assert hcl.count('resource "aws_ecr_pull_through_cache_rule"') == 3
        assert 'name = "ecr-pullthroughcache/docker-hub"' in hcl
        assert 'name = "ecr-pullthroughcache/github"' in hcl
        assert "credential_arn        = aws_secretsmanager_secret." in hcl
        public = hcl.split('"ecr_public" {', 1)[1].split("}", 1)[0]
        assert "credential_arn" not in public

    def test_script_copies_only_what_no_cache_serves(self) -> None:
        script = render(plan_of(web("nginx:1", "gcr.io/p/app:3", "mcr.microsoft.com/x/y")),
                        "script")
        assert "docker pull gcr.io/p/app:3" in script
        assert 'docker push "$REGISTRY/p/app:3"' in script
        assert "docker pull nginx" not in script
        # no tag in the input: the commands are written, commented out
        assert "# docker pull mcr.microsoft.com/x/y" in script
        assert script.startswith("#!/bin/sh\n")

    def test_hcl_is_written_by_the_snippet_renderer_and_comments_hold_any_reference(
        self,
    ) -> None:
        """A newline in an image reference starts another comment line, never HCL."""
        plan = plan_of(web('nginx:1\nresource "null_resource" "x" {}', "gcr.io/p/a:1\n}"))
        hcl = render(plan, "hcl")
        top_level = [line for line in hcl.splitlines()
                     if line and not line.startswith(("#", " "))]
        assert top_level == [
            'resource "aws_secretsmanager_secret" "ecr_pullthroughcache_docker_hub" {', "}",
            'resource "aws_ecr_pull_through_cache_rule" "docker_hub" {', "}"], hcl
        assert '# resource "null_resource" "x" {}' in hcl.splitlines()

    def test_script_runs_no_text_of_the_input(self, tmp_path: Path) -> None:
        """References with `$(...)`, backquotes and newlines: only aws and docker run."""
        if shutil.which("sh") is None:
            pytest.skip("needs a POSIX shell")
        script = render(plan_of(web(
            "gcr.io/p/a$(touch subst):1", "gcr.io/p/b:1\ntouch newline", "gcr.io/p/`touch bq`:1",
            "mcr.microsoft.com/x/y\ntouch untagged")), "script")
        tools = tmp_path / "bin"
        tools.mkdir()
        for tool in ("aws", "docker"):
            (tools / tool).write_text('#!/bin/sh\necho "$0 $*" >> "$LOG"\n', encoding="utf-8")
            (tools / tool).chmod(0o755)
        work = tmp_path / "work"
        work.mkdir()
        done = subprocess.run(
            ["sh", "-c", script], cwd=work, capture_output=True, text=True, check=False,
            env={"PATH": f"{tools}:/usr/bin:/bin", "LOG": str(tmp_path / "log"),
                 "AWS_REGION": "eu-west-1", "AWS_ACCOUNT_ID": "111122223333"})
        assert done.returncode == 0, done.stderr
        assert list(work.iterdir()) == []
        pushed = [line for line in (tmp_path / "log").read_text(encoding="utf-8").splitlines()
                  if " push " in line]
        assert len(pushed) == 3
        assert any(line.endswith("/p/a$(touch subst):1") for line in pushed)

    def test_fixture_plan(self) -> None:
        plan = mirror_plan([CASE])
        expected = json.loads((CASE / "expect-images.json").read_text(encoding="utf-8"))
        assert json.loads(render(plan, "json")) == expected


class TestCommand:
    def test_formats(self) -> None:
        result = run_tfcheck("images", str(CASE), "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == json.loads(
            (CASE / "expect-images.json").read_text(encoding="utf-8"))
        table = run_tfcheck("images", str(CASE))
        assert table.returncode == 0 and table.stdout.startswith("IMAGE")

    def test_bad_format_and_missing_path_exit_2(self, tmp_path: Path) -> None:
        bad = run_tfcheck("images", str(CASE), "--format", "yaml")
        assert bad.returncode == 2 and bad.stderr.startswith("tfcheck: error: --format")
        missing = run_tfcheck("images", str(tmp_path / "nope"))
        assert missing.returncode == 2 and missing.stderr.startswith("tfcheck: error: ")
        assert "Traceback" not in missing.stderr

    def test_syntax_error_is_located(self, tmp_path: Path) -> None:
        (tmp_path / "main.tf").write_text('resource "x" "y" {\n  a = \n}\n', encoding="utf-8")
        result = run_tfcheck("images", str(tmp_path))
        assert result.returncode == 2, result.stdout
        assert result.stderr.startswith("tfcheck: error: ") and "main.tf:" in result.stderr


# -- the generated HCL is valid Terraform ------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_fixtures_for_images", REPO / "scripts" / "generate_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_generated_hcl_passes_terraform_fmt_and_validate(tmp_path: Path) -> None:
    generator = _generator()
    mirror = generator.find_mirror()
    if shutil.which("terraform") is None or mirror is None:
        pytest.skip("needs terraform and the offline hashicorp/aws provider mirror")
    every_upstream = [f"{u.hosts[0]}/team/app:1" for u in UPSTREAMS]
    hcl = render(plan_of(web(*every_upstream, "gcr.io/p/app:3")), "hcl")
    assert hcl.count("aws_ecr_pull_through_cache_rule") == len(UPSTREAMS)
    (tmp_path / "images.tf").write_text(hcl, encoding="utf-8")
    (tmp_path / "main.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n'
        '    }\n  }\n}\n\nprovider "aws" {\n  region = "eu-west-1"\n}\n', encoding="utf-8")
    env = generator._terraform_env(tmp_path)
    (tmp_path / "home").mkdir()
    for command in (["fmt", "-check", "-diff", "images.tf"],
                    ["init", "-input=false", "-no-color", f"-plugin-dir={mirror}"],
                    ["validate", "-no-color"]):
        result = subprocess.run(["terraform", *command], cwd=tmp_path, env=env, text=True,
                                capture_output=True, check=False, timeout=600)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
