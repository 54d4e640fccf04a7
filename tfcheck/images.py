"""The image mirror plan (`tfcheck images`): what to copy into ECR before going private.

The seeds' "Creating local copies of container images" is a manual procedure; tfcheck
already knows every image a configuration deploys (workloads, manifests, Helm values
and the chart defaults PC601 knows) and whether the cluster's nodes can pull it. This
module turns that into the plan a team executes:

- for each image: where it comes from, whether the private cluster can pull it, who
  deploys it, and the ECR reference to deploy instead;
- `aws_ecr_pull_through_cache_rule` blocks for the upstream registries ECR can cache
  (ECR Public, registry.k8s.io, Quay, GitHub's ghcr.io and Docker Hub, the last two
  with a Secrets Manager credential), so a mirror is one pull away;
- `docker pull / tag / push` commands for the rest.

Engine side: no command-line code; `tfcheck.cli` renders what `mirror_plan` returns.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import msgspec

from tfcheck.config import Config
from tfcheck.facts import hcl_snippets as snippets
from tfcheck.facts.membership import regions_of
from tfcheck.graph import ResourceGraph
from tfcheck.inputs import resolve_inputs
from tfcheck.loaders import LoadFailure
from tfcheck.model import Status, Unknown
from tfcheck.policy import ScanContext
from tfcheck.workloads import (
    EKS_IMAGE_ACCOUNTS,
    ImageRef,
    eks_registry,
    image_uses,
    judge_registry,
    parse_image,
)

FORMATS = ("table", "json", "hcl", "script")
PULL_THROUGH = "pull-through cache"
COPY = "copy"
AWS_REGIONAL = "served by AWS in the region"
ACCOUNT_PLACEHOLDER = "<account>"
REGION_PLACEHOLDER = "<region>"


class Upstream(msgspec.Struct, frozen=True):
    """An upstream registry ECR pull-through cache rules can serve."""

    hosts: tuple[str, ...]  # how image references name it
    url: str  # `upstream_registry_url`
    prefix: str  # `ecr_repository_prefix` tfcheck proposes
    credential: str | None = None  # Secrets Manager name suffix, where one is required

    @property
    def secret_name(self) -> str | None:
        """ECR reads pull-through credentials from secrets named `ecr-pullthroughcache/...`."""
        return f"ecr-pullthroughcache/{self.credential}" if self.credential else None

    @property
    def name(self) -> str:
        return self.prefix.replace("-", "_")


# The upstream registries of the ECR user guide's "Sync an upstream registry with an
# Amazon ECR private registry" that this plan proposes; k8s.gcr.io is frozen and its
# images are served by registry.k8s.io under the same paths.
UPSTREAMS: tuple[Upstream, ...] = (
    Upstream(("public.ecr.aws",), "public.ecr.aws", "ecr-public"),
    Upstream(("registry.k8s.io", "k8s.gcr.io"), "registry.k8s.io", "kubernetes"),
    Upstream(("quay.io",), "quay.io", "quay"),
    Upstream(("ghcr.io",), "ghcr.io", "github", credential="github"),
    Upstream(("docker.io", "index.docker.io", "registry-1.docker.io"), "registry-1.docker.io",
             "docker-hub", credential="docker-hub"),
)


def upstream_of(ref: ImageRef) -> Upstream | None:
    for upstream in UPSTREAMS:
        if ref.registry in upstream.hosts:
            return upstream
    return None


class MirrorImage(msgspec.Struct, frozen=True):
    """One image the input deploys, and what to do about it."""

    reference: str  # as the input writes it: "nginx:1.25", "public.ecr.aws/karpenter/controller"
    registry: str  # "docker.io", "public.ecr.aws", ...
    private_reachable: bool | None  # None: cannot tell (the cluster's region is not known)
    used_by: tuple[str, ...]  # addresses of the resources that deploy it
    mirror: str | None  # the ECR reference to deploy instead; None where none is needed
    upstream: Upstream | None = None  # the pull-through cache that serves `mirror`
    where: tuple[str, ...] = ()  # "helm_release.x: value image.repository", for the table
    method: str = ""  # how `mirror` gets the image: PULL_THROUGH, COPY or AWS_REGIONAL

    def as_json(self) -> dict[str, object]:
        return {"reference": self.reference, "registry": self.registry,
                "private_reachable": self.private_reachable, "used_by": list(self.used_by),
                "mirror": self.mirror}


class MirrorPlan(msgspec.Struct, frozen=True):
    """Every image of the input, plus what could not be named."""

    images: tuple[MirrorImage, ...]
    region: str  # the ECR region mirrors go to ("<region>" where not known)
    account: str  # the ECR account ("<account>" where not known)
    unnamed: tuple[str, ...] = ()  # "helm_release.x: value image (reason)": unknown images
    notes: tuple[str, ...] = ()

    @property
    def to_cache(self) -> list[Upstream]:
        """The upstream registries some mirror needs a pull-through cache rule for."""
        used = {i.upstream.url for i in self.images if i.mirror and i.upstream is not None}
        return [u for u in UPSTREAMS if u.url in used]

    @property
    def to_copy(self) -> list[MirrorImage]:
        return [i for i in self.images if i.method == COPY]


class ImagesInputError(Exception):
    """An input `tfcheck images` cannot read: one line, exit 2."""


# -- building the plan ------------------------------------------------------------------


def mirror_plan(paths: Sequence[str | os.PathLike[str]], *, config: Config | None = None,
                account: str | None = None, var_files: Sequence[Path] = (),
                variables: dict[str, str] | None = None) -> MirrorPlan:
    """The mirror plan of HCL directories and plan files; raises `ImagesInputError`."""
    config = config or Config()
    plans = [plan_for_graph(ScanContext(graph=graph, config=config), account)
             for graph in _load(paths, var_files, variables or {})]
    if len(plans) == 1:
        return plans[0]
    images = tuple(image for plan in plans for image in plan.images)
    regions = {p.region for p in plans}
    accounts = {p.account for p in plans}
    return MirrorPlan(images, regions.pop() if len(regions) == 1 else REGION_PLACEHOLDER,
                      accounts.pop() if len(accounts) == 1 else ACCOUNT_PLACEHOLDER,
                      tuple(u for p in plans for u in p.unnamed),
                      tuple(n for p in plans for n in p.notes))


class _Group(msgspec.Struct):
    """The uses of one image (in one region) while the plan is built."""

    ref: ImageRef
    status: Status
    used_by: set[str] = msgspec.field(default_factory=set)
    where: list[str] = msgspec.field(default_factory=list)


def plan_for_graph(ctx: ScanContext, account: str | None = None) -> MirrorPlan:
    """The mirror plan of one scanned input."""
    groups: dict[tuple[str, str], _Group] = {}
    unnamed: list[str] = []
    notes: list[str] = []
    regions: set[str] = set()
    ecr_accounts: dict[str, int] = {}
    for use in image_uses(ctx):
        where = f"{use.resource.address}: {use.where}"
        if use.sensitive:
            notes.append(f"{where}: a sensitive value")
            continue
        image = use.pinned
        if isinstance(image, Unknown) or "${" in image or not image.strip():
            reason = image.reason if isinstance(image, Unknown) else (
                "built from values the input does not give")
            unnamed.append(f"{where} ({reason})")
            continue
        cluster_regions = regions_of(ctx, use.resource)
        verdict = judge_registry(image, cluster_regions, ctx.config.allowed_registries)
        known = sorted({r.region for r in cluster_regions if isinstance(r.region, str)})
        regions.update(known)
        ref = parse_image(image)
        if ref.ecr is not None and ref.ecr[1] in known and ref.ecr[0] not in AWS_ACCOUNTS:
            ecr_accounts[ref.ecr[0]] = ecr_accounts.get(ref.ecr[0], 0) + 1
        region = known[0] if len(known) == 1 else REGION_PLACEHOLDER
        group = groups.setdefault((image, region), _Group(ref, verdict.status))
        group.used_by.add(use.resource.address)
        group.where.append(where)
    if account is None and ecr_accounts:
        account = max(sorted(ecr_accounts), key=lambda a: ecr_accounts[a])
    account = account or ACCOUNT_PLACEHOLDER
    images = []
    for (reference, region), group in sorted(groups.items()):
        reachable = {Status.PASS: True, Status.FAIL: False}.get(group.status)
        mirror = plan_mirror(group.ref, account, region) if reachable is False else None
        images.append(MirrorImage(
            reference, group.ref.registry, reachable, tuple(sorted(group.used_by)),
            mirror.reference if mirror else None, mirror.upstream if mirror else None,
            tuple(group.where), mirror.method if mirror else ""))
    region = regions.pop() if len(regions) == 1 else REGION_PLACEHOLDER
    return MirrorPlan(tuple(images), region, account, tuple(unnamed), tuple(notes))


def mirror_repository(ref: ImageRef, upstream: Upstream | None) -> str:
    """The ECR repository of a mirror: under the cache prefix, or the upstream path as is."""
    if upstream is not None:
        return f"{upstream.prefix}/{ref.repository}"  # Docker Hub keeps `library/`
    return ref.repository.removeprefix("library/")


def _pin(ref: ImageRef) -> str:
    """`:tag`, `@digest` or both, as the reference gives them."""
    return (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


class Mirror(msgspec.Struct, frozen=True):
    """Where an image the nodes cannot pull should come from instead, and how it gets there."""

    repository: str  # registry and repository, without tag: what a Helm `repository` takes
    pin: str  # ":tag", "@digest" or "" as the original reference gives them
    method: str  # PULL_THROUGH, COPY or AWS_REGIONAL
    upstream: Upstream | None = None

    @property
    def reference(self) -> str:
        return self.repository + self.pin


# AWS's own registries of EKS images (add-ons, drivers): every region has one
AWS_ACCOUNTS = frozenset({*EKS_IMAGE_ACCOUNTS.values(), "602401143452"})


def plan_mirror(ref: ImageRef, account: str, region: str) -> Mirror:
    """The ECR reference that replaces an image in `region`, in account `account`.

    AWS's EKS images from another region's registry are served by the registry of the
    cluster's region under the same path; a registry ECR can cache goes under its
    pull-through cache prefix; anything else is copied under its own path.
    """
    if ref.ecr is not None and ref.ecr[0] in AWS_ACCOUNTS and region != REGION_PLACEHOLDER:
        return Mirror(f"{eks_registry(region)}/{ref.repository}", _pin(ref), AWS_REGIONAL)
    upstream = upstream_of(ref)
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    repository = f"{account}.dkr.ecr.{region}{suffix}/{mirror_repository(ref, upstream)}"
    return Mirror(repository, _pin(ref), PULL_THROUGH if upstream is not None else COPY,
                  upstream)


def _load(paths: Sequence[str | os.PathLike[str]], var_files: Sequence[Path],
          variables: dict[str, str]) -> list[ResourceGraph]:
    inputs, errors = resolve_inputs([os.fspath(p) for p in paths])
    if errors:
        raise ImagesInputError(str(errors[0]))
    graphs = []
    for item in inputs:
        try:
            if item.kind == "hcl":
                from tfcheck.loaders.hcl import load_hcl

                loaded = load_hcl(item.path, var_files=var_files, variables=variables)
                if loaded.errors:
                    raise ImagesInputError(str(loaded.errors[0]))
                graphs.append(loaded.graph)
            elif item.kind == "plan":
                from tfcheck.loaders.plan import load_plan_file

                graphs.append(load_plan_file(item.path, item.display))
            else:
                raise ImagesInputError(f"{item.display}: tfcheck images reads files and "
                                       f"directories, not standard input")
        except LoadFailure as failure:
            raise ImagesInputError(str(failure.error)) from None
        except RecursionError:
            raise ImagesInputError(f"{item.display}: input is nested too deeply") from None
    return graphs


# -- rendering ----------------------------------------------------------------------------


def render(plan: MirrorPlan, fmt: str) -> str:
    """The plan in one of `FORMATS`."""
    if fmt == "json":
        return json.dumps({"images": [i.as_json() for i in plan.images]}, indent=2) + "\n"
    if fmt == "hcl":
        return render_hcl(plan)
    if fmt == "script":
        return render_script(plan)
    return render_table(plan)


def render_table(plan: MirrorPlan) -> str:
    rows = [("IMAGE", "PULLABLE", "MIRROR", "USED BY")]
    for image in plan.images:
        pullable = {True: "yes", False: "no", None: "unknown"}[image.private_reachable]
        how = f" ({image.method})" if image.method else ""
        rows.append((image.reference, pullable, (image.mirror or "-") + how,
                     ", ".join(image.used_by)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)),
                        row[3]]).rstrip() for row in rows]
    if not plan.images:
        lines = ["No container images in the input."]
    mirrored = [i for i in plan.images if i.mirror]
    if mirrored:
        lines.append("")
        lines.append(f"{len(mirrored)} of {len(plan.images)} images cannot be pulled by the "
                     f"private cluster: "
                     f"`tfcheck images --format hcl` writes the pull-through cache rules, "
                     f"`--format script` the copy commands for the rest.")
    for text in plan.unnamed:
        lines.append(f"not named in the input: {text}")
    for text in plan.notes:
        lines.append(f"not shown: {text}")
    if ACCOUNT_PLACEHOLDER in "".join(i.mirror or "" for i in mirrored):
        lines.append("Replace <account> with your AWS account ID (or pass --account).")
    return "\n".join(lines) + "\n"


HCL_HEADER = ("ECR pull-through cache rules for the upstream registries this configuration's\n"
              "images come from (generated by `tfcheck images --format hcl`). The nodes' IAM\n"
              "role needs ecr:BatchImportUpstreamImage and ecr:CreateRepository on these\n"
              "prefixes for the first pull of each image.")


def render_hcl(plan: MirrorPlan) -> str:
    """`aws_ecr_pull_through_cache_rule` blocks (and credential secrets), `terraform fmt` clean.

    Built as values and written by `tfcheck.facts.hcl_snippets`, as the policies'
    remediations are: strings escaped as HCL reads them, `=` aligned, and every line of
    a comment commented, whatever text an image reference holds.
    """
    items: list[snippets.Item] = [snippets.Comment(HCL_HEADER)]
    if not plan.to_cache:
        items.append(snippets.Comment("No image needs a pull-through cache."))
    for upstream in plan.to_cache:
        items.append(snippets.BLANK)
        served = [i for i in plan.images if i.upstream is upstream and i.mirror]
        if served:
            items.append(snippets.Comment("\n".join(f"{i.reference} -> {i.mirror}"
                                                     for i in served)))
        rule = list(snippets.attributes(ecr_repository_prefix=upstream.prefix,
                                        upstream_registry_url=upstream.url))
        if upstream.secret_name is not None:
            secret = f"ecr_pullthroughcache_{upstream.name}"
            items += [snippets.resource("aws_secretsmanager_secret", secret, [
                snippets.Comment("store the registry's username and accessToken in this secret"),
                *snippets.attributes(name=upstream.secret_name)]), snippets.BLANK]
            rule.append(snippets.Attribute("credential_arn", snippets.Reference(
                f"aws_secretsmanager_secret.{secret}.arn")))
        items.append(snippets.resource("aws_ecr_pull_through_cache_rule", upstream.name, rule))
    if plan.to_copy:
        items += [snippets.BLANK, snippets.Comment("\n".join([
            "Not served by a pull-through cache; copy them (`tfcheck images --format script`):",
            *(f"{i.reference} -> {i.mirror}" for i in plan.to_copy)]))]
    return snippets.render(*items) + "\n"


def render_script(plan: MirrorPlan) -> str:
    """A POSIX shell script copying the images no pull-through cache serves into ECR."""
    region = plan.region if plan.region != REGION_PLACEHOLDER else "${AWS_REGION:?set AWS_REGION}"
    account = plan.account if plan.account != ACCOUNT_PLACEHOLDER else (
        "${AWS_ACCOUNT_ID:?set AWS_ACCOUNT_ID}")
    lines = [
        "#!/bin/sh",
        "# Copy the images that no ECR pull-through cache serves into ECR",
        "# (generated by `tfcheck images --format script`; the seeds' \"Creating local copies",
        "# of container images\"). Run it where docker and the AWS CLI can reach both the",
        "# upstream registries and ECR.",
        "set -eu",
        f"REGION={_assigned(region, expand=plan.region == REGION_PLACEHOLDER)}",
        "REGISTRY=" + _assigned(account, ".dkr.ecr.$REGION.amazonaws.com",
                                expand=plan.account == ACCOUNT_PLACEHOLDER),
        'aws ecr get-login-password --region "$REGION" | '
        'docker login --username AWS --password-stdin "$REGISTRY"',
    ]
    copies = plan.to_copy
    if not copies:
        lines.append("# Nothing to copy: every image is pullable or served by a pull-through "
                     "cache (`tfcheck images --format hcl`).")
    for image in copies:
        assert image.mirror is not None
        ref = parse_image(image.reference)
        target_repo = mirror_repository(ref, None)
        target = _in_registry(target_repo + _pin(ref))
        lines.append("")
        lines += _shell_comment(f"{image.reference}, used by {', '.join(image.used_by)}")
        commands = [
            f"aws ecr describe-repositories --region \"$REGION\" --repository-names "
            f"{shlex.quote(target_repo)} >/dev/null 2>&1 || aws ecr create-repository "
            f"--region \"$REGION\" --repository-name {shlex.quote(target_repo)}",
            f"docker pull {shlex.quote(image.reference)}",
            f"docker tag {shlex.quote(image.reference)} {target}",
            f"docker push {target}",
        ]
        if ref.ecr is not None:  # from another region's ECR: log in there too
            commands.insert(1, f"aws ecr get-login-password --region {shlex.quote(ref.ecr[1])} "
                               f"| docker login --username AWS --password-stdin "
                               f"{shlex.quote(ref.registry)}")
        if not ref.tag and not ref.digest:
            lines.append("# no tag in the input (the chart chooses it): add the tag your "
                         "version deploys, then uncomment")
            commands = [line for c in commands for line in _shell_comment(c)]
        lines += commands
    return "\n".join(lines) + "\n"


# The script is run, and every text in it but its own comes from the scanned input: an
# image reference (or a `for_each` key) may hold a newline, `$(...)`, backquotes.
def _shell_comment(text: str) -> list[str]:
    """`text` as comment lines: a newline in it starts another comment, never a command."""
    return [f"# {line}" for line in text.split("\n")]


def _in_registry(path: str) -> str:
    """`"$REGISTRY/path"`, with a path the shell would expand or split single-quoted."""
    quoted = shlex.quote(path)
    return f'"$REGISTRY/{path}"' if quoted == path else f'"$REGISTRY/"{quoted}'


def _assigned(value: str, suffix: str = "", *, expand: bool) -> str:
    """The right of `NAME=`: `"value suffix"`, the suffix always expanded.

    `value` is expanded where it is tfcheck's own `${NAME:?...}`; one from the input is
    single-quoted where the shell would read anything in it.
    """
    if expand or shlex.quote(value) == value:
        return f'"{value}{suffix}"'
    return shlex.quote(value) + (f'"{suffix}"' if suffix else "")
