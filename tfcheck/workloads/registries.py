"""Image references and registries: where an image is pulled from, and can nodes reach it.

Nodes without internet access pull only from ECR in their own region (any account,
pull-through caches included) or from registries the user allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from tfcheck.model import Status, Unknown


class ClusterRegion(msgspec.Struct, frozen=True):
    """The region a workload's cluster runs in, and where that came from.

    Which cluster a workload belongs to is `tfcheck.facts.membership`'s question.
    """

    region: str | Unknown
    source: str  # "aws_eks_cluster.main", "provider aws"


class ImageRef(msgspec.Struct, frozen=True):
    """A container image reference split the way a container runtime resolves it."""

    text: str
    registry: str  # "docker.io" for Docker Hub short names
    repository: str  # path inside the registry: "library/nginx", "autoscaling/cluster-autoscaler"
    tag: str | None = None
    digest: str | None = None

    @property
    def is_docker_hub(self) -> bool:
        return self.registry in ("docker.io", "index.docker.io", "registry-1.docker.io")

    @property
    def is_public_ecr(self) -> bool:
        return self.registry == "public.ecr.aws"

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) for a private ECR registry, else None."""
        match = _ECR_HOST.fullmatch(self.registry)
        if match is None:
            return None
        if match.group("account"):
            return match.group("account"), match.group("region")
        return match.group("account2"), match.group("region2")  # dual-stack endpoint

    @property
    def name(self) -> str:
        """The last path segment without tag: `cluster-autoscaler`."""
        return self.repository.rsplit("/", 1)[-1]


_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.amazonaws\.com(?:\.cn)?"
    r"|(?P<account2>\d{12})\.dkr-ecr(?:-fips)?\.(?P<region2>[a-z]{2}(?:-[a-z]+)+-\d)\.on\.aws"
)


def parse_image(text: str) -> ImageRef:
    """Split `registry/repo:tag@digest`; names without a registry host are Docker Hub."""
    rest = text.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    registry = "docker.io"
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first.lower(), remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
    if registry == "docker.io" and "/" not in rest:
        rest = f"library/{rest}"
    return ImageRef(text=text, registry=registry, repository=rest, tag=tag, digest=digest)


MARKETPLACE_REGISTRY = "709825985650.dkr.ecr.us-east-1.amazonaws.com"

# The account that serves EKS add-on and driver images in each region's ECR (EKS user
# guide, "View Amazon container image registries for Amazon EKS add-ons"); most regions
# use 602401143452. Used only to write remediations.
EKS_IMAGE_ACCOUNTS: dict[str, str] = {
    "af-south-1": "877085696533",
    "ap-east-1": "800184023465",
    "ap-south-2": "900889452093",
    "ap-southeast-3": "296578399912",
    "ap-southeast-4": "491585149902",
    "ca-west-1": "761377655185",
    "cn-north-1": "918309763551",
    "cn-northwest-1": "961992271922",
    "eu-central-2": "900612956339",
    "eu-south-1": "590381155156",
    "eu-south-2": "455263428931",
    "il-central-1": "066635153087",
    "me-central-1": "759879836304",
    "me-south-1": "558608220178",
    "us-gov-east-1": "151742754352",
    "us-gov-west-1": "013241004608",
}


def eks_registry(region: str) -> str:
    """The ECR registry that serves EKS images in a region."""
    account = EKS_IMAGE_ACCOUNTS.get(region, "602401143452")
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{account}.dkr.ecr.{region}{suffix}"


class RegistryVerdict(msgspec.Struct, frozen=True):
    """Whether nodes without internet access can pull an image, and why."""

    status: Status
    reason: str  # "ECR in eu-west-1, the cluster's region"
    registry: str = ""
    ecr_region: str | None = None


def allowed_registry(image: ImageRef, allowed: Iterable[str]) -> str | None:
    """The allow-list entry (`host` or `host/prefix`) that admits an image, if any."""
    full = f"{image.registry}/{image.repository}"
    short = f"{image.registry}/{image.repository.removeprefix('library/')}"
    for entry in allowed:
        entry = entry.strip().rstrip("/").lower()
        if not entry:
            continue
        if "/" not in entry:
            if image.registry == entry or (entry in ("docker.io", "index.docker.io")
                                           and image.is_docker_hub):
                return entry
        elif full.lower().startswith(entry + "/") or full.lower() == entry or (
            short.lower().startswith(entry + "/") or short.lower() == entry
        ):
            return entry
    return None


def judge_registry(image: str | Unknown, regions: list[ClusterRegion],
                   allowed: Iterable[str] = ()) -> RegistryVerdict:
    """Whether nodes in the cluster's region can pull an image through the ECR endpoints.

    Pass: ECR in the cluster's region (any account, pull-through cache included), or
    a registry on the user's allow-list. Fail: public ECR, Docker Hub (short names
    too), any other internet registry, ECR in another region. Unknown: the image, or
    the cluster's region, is not known.
    """
    if isinstance(image, Unknown):
        return RegistryVerdict(Status.UNKNOWN, f"the image is not known ({image.reason})")
    if not image.strip() or "${" in image:
        return RegistryVerdict(Status.UNKNOWN, "the image is built from values the input "
                               "does not give")
    ref = parse_image(image)
    entry = allowed_registry(ref, allowed)
    if entry is not None:
        return RegistryVerdict(Status.PASS, f"registry {entry} is on the allow-list "
                               "(allowed_registries)", ref.registry)
    ecr = ref.ecr
    if ecr is not None:
        region = ecr[1]
        unknown = [r for r in regions if isinstance(r.region, Unknown)]
        others = sorted({r.region for r in regions
                         if isinstance(r.region, str) and r.region != region})
        if others:
            return RegistryVerdict(
                Status.FAIL, f"ECR in {region}, but the cluster is in {', '.join(others)}: the "
                f"ECR VPC endpoints of the cluster's region do not serve another region's "
                f"registry", ref.registry, region)
        if unknown:
            first = unknown[0].region
            assert isinstance(first, Unknown)
            return RegistryVerdict(Status.UNKNOWN, f"ECR in {region}, and the cluster's region "
                                   f"is not known ({first.reason})", ref.registry, region)
        return RegistryVerdict(Status.PASS, f"ECR in {region}, the cluster's region",
                               ref.registry, region)
    if ref.is_public_ecr:
        why = "public ECR (public.ecr.aws), which no VPC endpoint serves"
    elif ref.is_docker_hub:
        why = "Docker Hub" + (" (a short name)" if "/" not in image.split(":")[0] else "")
    else:
        why = f"{ref.registry}, a registry on the internet"
    return RegistryVerdict(Status.FAIL, why, ref.registry)
