#!/usr/bin/env python3
"""Synthetic inputs for the benchmark: `terraform show -json` plans and HCL trees.

Both come from one description of an estate (`stacks.Spec`: EKS clusters in explicit
module calls or in a `for_each` fleet, in three variants, plus filler files of non-EKS
resources), so a plan and the HCL behind it always agree.

Plans are not hand-written JSON: `seed` plans a small estate (every style x variant
once, one filler file) with a real terraform 1.11 and the offline hashicorp/aws
provider, and stores the result in `bench/seed/plan.json.gz`. A plan of any size is
that seed cloned per cluster and filler file: every name and address of a cluster
carries its token and every cluster has its own /16, so cloning is text substitution
on the seed's per-token parts (planned_values, resource_changes, prior_state,
configuration module calls and resources, relevant_attributes). `verify` proves the
method: it plans a different small estate with terraform and compares it with the
clone, which must be identical apart from the timestamp.

Usage:
    bench/generate.py plan 10000 [--out DIR]   # DIR/plan-10000/plan.json (+ src/ HCL)
    bench/generate.py plan 5000 --layout fleet # DIR/fleet-5000/: all clusters for_each
    bench/generate.py plan 1000 --layout fanout  # DIR/fanout-1000/: 1000 rules x 500 subnets
    bench/generate.py hcl 1000 [--out DIR]     # DIR/hcl-1000/ with 1000 .tf files
    bench/generate.py seed                     # re-plan the seed with terraform
    bench/generate.py verify                   # terraform plan vs clone, must match

Outputs go to bench/results/inputs/ by default (gitignored). Needs terraform only for
`seed` and `verify`.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stacks import FIXED_FILES, VARIANTS, Cluster, Spec, render  # noqa: E402

BENCH = Path(__file__).resolve().parent
SEED_FILE = BENCH / "seed" / "plan.json.gz"
SEED_STAMP = BENCH / "seed" / "stacks.sha256"  # the stacks.py the seed was planned from
DEFAULT_OUT = BENCH / "results" / "inputs"
MIRROR = Path(os.environ.get("TFCHECK_PROVIDER_MIRROR", "/opt/tf-plugins"))
TERRAFORM = os.environ.get("TFCHECK_TERRAFORM", "terraform")
VOLATILE = ("timestamp",)

STYLES = ("explicit", "fleet")
SEED_OCTET = {("explicit", "good"): 201, ("explicit", "nat"): 202, ("explicit", "lean"): 203,
              ("fleet", "good"): 204, ("fleet", "nat"): 205, ("fleet", "lean"): 206}
SEED_FILLER = "useed"


def seed_token(style: str, variant: str) -> str:
    return f"{style[0]}seed{variant}"  # "eseedgood", "fseedlean": in no other name


def seed_spec() -> Spec:
    clusters = [Cluster(seed_token(s, v), s, v, SEED_OCTET[s, v])
                for s in STYLES for v in VARIANTS]
    return Spec(clusters, [SEED_FILLER])


# -- what an estate of a given size looks like ----------------------------------------


def _variant(i: int) -> str:
    """60% complete private clusters, 20% with NAT egress, 20% missing endpoints."""
    return {2: "nat", 4: "lean"}.get(i % 5, "good")


def _cluster(i: int, style: str) -> Cluster:
    token = f"{'e' if style == 'explicit' else 'f'}{i:05d}"
    # 200 distinct /16s, then reused: distinct VPCs may share a CIDR.
    return Cluster(token, style, _variant(i), 1 + (i - 1) % 200)


def spec_for_files(files: int) -> Spec:
    """An estate of `files` .tf files: 1/5 cluster files, the rest filler files."""
    rest = max(1, files - FIXED_FILES)
    explicit = max(1, round(rest / 5))
    fillers = rest - explicit
    fleet = explicit // 4
    clusters = [_cluster(i, "explicit") for i in range(1, explicit + 1)]
    clusters += [_cluster(i, "fleet") for i in range(explicit + 1, explicit + fleet + 1)]
    return Spec(clusters, [f"u{i:05d}" for i in range(1, fillers + 1)])


def spec_for_resources(resources: int, seed: Seed, layout: str = "mixed") -> Spec:
    """About `resources` resource instances. `mixed`: half in clusters (1/4 of them in
    the fleet), half filler; `fleet`: every cluster in the one `for_each` fleet, no
    filler (the shape that stresses resolution across module instances)."""
    per_cluster = sum(seed.count[seed_token("explicit", v)] for v in VARIANTS) / len(VARIANTS)
    if layout == "fleet":
        n_clusters = max(1, round(resources / per_cluster))
        return Spec([_cluster(i, "fleet") for i in range(1, n_clusters + 1)], [])
    n_clusters = max(1, round(resources / 2 / per_cluster))
    clusters = [_cluster(i, "fleet" if i % 4 == 0 else "explicit")
                for i in range(1, n_clusters + 1)]
    in_clusters = sum(seed.count[seed_token(c.style, c.variant)] for c in clusters)
    fillers = max(0, round((resources - in_clusters) / seed.count[SEED_FILLER]))
    return Spec(clusters, [f"u{i:05d}" for i in range(1, fillers + 1)])


# -- terraform -------------------------------------------------------------------------


def write_tree(spec: Spec, directory: Path) -> int:
    """Write the .tf files of `spec` under `directory`; returns the total bytes."""
    total = 0
    for relative, text in render(spec).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        total += len(text.encode())
    return total


def terraform_plan(spec: Spec) -> dict[str, Any]:
    """Plan `spec` with a real terraform (offline provider mirror); the JSON plan."""
    if shutil.which(TERRAFORM) is None:
        sys.exit(f"{TERRAFORM} not found on PATH (set TFCHECK_TERRAFORM)")
    if not MIRROR.is_dir():
        sys.exit(f"provider mirror {MIRROR} not found (set TFCHECK_PROVIDER_MIRROR)")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}
    with tempfile.TemporaryDirectory(prefix="tfcheck-bench-") as tmp:
        work = Path(tmp)
        write_tree(spec, work)
        for argv in ([TERRAFORM, "init", "-input=false", f"-plugin-dir={MIRROR}"],
                     [TERRAFORM, "plan", "-refresh=false", "-input=false", "-out", "p"]):
            started = time.perf_counter()
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                                  check=False)
            if done.returncode != 0:
                sys.exit(f"{' '.join(argv[:2])} failed:\n{done.stdout}\n{done.stderr}")
            print(f"  {' '.join(argv[:2])}: {time.perf_counter() - started:.1f}s",
                  file=sys.stderr)
        done = subprocess.run([TERRAFORM, "show", "-json", "p"], cwd=work, env=env,
                              capture_output=True, check=True)
    document: dict[str, Any] = json.loads(done.stdout)
    for key in VOLATILE:
        document.pop(key, None)
    return document


# -- cloning the seed -------------------------------------------------------------------


class Seed:
    """The seed plan split into the parts common to all sizes and the parts per token."""

    # (path of a list or object in the document, how to name an element of it)
    PARTS: tuple[tuple[tuple[str, ...], str], ...] = (
        (("planned_values", "root_module", "resources"), "address"),
        (("planned_values", "root_module", "child_modules"), "address"),
        (("resource_changes",), "address"),
        (("prior_state", "values", "root_module", "resources"), "address"),
        (("prior_state", "values", "root_module", "child_modules"), "address"),
        (("configuration", "root_module", "resources"), "address"),
        (("configuration", "root_module", "module_calls"), ""),  # object: by key
        (("relevant_attributes",), "resource"),
        (("output_changes",), ""),
        (("planned_values", "outputs"), ""),
    )

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        spec = seed_spec()
        self.tokens = [c.token for c in spec.clusters] + list(spec.fillers)
        self.octets = {c.token: c.octet for c in spec.clusters}
        self.common: dict[tuple[str, ...], Any] = {}
        per_token: dict[str, dict[str, Any]] = {t: {} for t in self.tokens}
        for path, name_key in self.PARTS:
            container = _get(document, path)
            if container is None:
                continue
            items = container.items() if isinstance(container, dict) else enumerate(container)
            common: Any = {} if isinstance(container, dict) else []
            for key, item in items:
                name = key if isinstance(container, dict) else item[name_key]
                owner = self._owner(name)
                if owner is None:
                    _put(common, key, item)
                else:
                    bucket = per_token[owner].setdefault(
                        "/".join(path), {} if isinstance(container, dict) else [])
                    _put(bucket, key, item)
            self.common[path] = common
        # One JSON text per token: a clone is a few str.replace calls and a json.loads.
        # Base64 user data cannot be edited in place: it becomes a marker, and the
        # clone re-encodes the decoded text with its own token.
        self.text: dict[str, str] = {}
        self.encoded: dict[str, dict[str, str]] = {}
        for token, parts in per_token.items():
            text = json.dumps(parts, separators=(",", ":"))
            markers: dict[str, str] = {}
            for value in set(_B64_VALUE.findall(text)):
                decoded = _decode_b64(value)
                if decoded is not None and token in decoded:
                    marker = f"@@b64-{len(markers)}@@"
                    markers[marker] = decoded
                    text = text.replace(f'"{value}"', f'"{marker}"')
            self.text[token] = text
            self.encoded[token] = markers
        self.count = {t: sum(1 for rc in parts.get("resource_changes", ()))
                      for t, parts in per_token.items()}

    def _owner(self, name: str) -> str | None:
        found = [t for t in self.tokens if t in name]
        if len(found) > 1:
            raise ValueError(f"{name!r} matches several seed tokens {found}")
        return found[0] if found else None

    def clone(self, spec: Spec) -> dict[str, Any]:
        """The plan terraform would write for `spec`."""
        document = json.loads(json.dumps(self.document))
        for path, common in self.common.items():
            _set(document, path, json.loads(json.dumps(common)))
        units: list[tuple[str, str, Callable[[str], str]]] = []
        for cluster in spec.clusters:
            source = seed_token(cluster.style, cluster.variant)
            units.append((source, cluster.token, _octet_swap(self.octets[source],
                                                             cluster.octet)))
        units += [(SEED_FILLER, token, _same) for token in spec.fillers]
        for source, token, swap in units:
            text = swap(self.text[source].replace(source, token))
            for marker, decoded in self.encoded[source].items():
                encoded = base64.b64encode(swap(decoded.replace(source, token)).encode())
                text = text.replace(marker, encoded.decode())
            parts = json.loads(text)
            for path_text, items in parts.items():
                path = tuple(path_text.split("/"))
                target = _get(document, path)
                if isinstance(items, dict):
                    target.update(items)
                else:
                    target.extend(items)
        for path, name_key in self.PARTS:
            container = _get(document, path)
            if path == ("relevant_attributes",):
                continue  # terraform writes them in no particular order
            if isinstance(container, list):
                container.sort(key=lambda item, k=name_key: _sort_key(item[k]))
            elif isinstance(container, dict):
                _set(document, path, dict(sorted(container.items())))
        return document


def _sort_key(address: str) -> tuple[int, str, str]:
    """Terraform's order: shallower modules first, then module, then resource."""
    steps = address.split(".module.")
    depth = len(steps) if address.startswith("module.") else 0
    module, _, _ = address.rpartition(".aws_")
    return depth, module if depth else "", address


_B64_VALUE = re.compile(r'"([A-Za-z0-9+/]{40,}={0,2})"')


def _decode_b64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _same(text: str) -> str:
    return text


def _octet_swap(old: int, new: int) -> Callable[[str], str]:
    def swap(text: str) -> str:
        return text.replace(f"10.{old}.", f"10.{new}.")
    return swap


def _get(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _put(container: Any, key: Any, item: Any) -> None:
    if isinstance(container, dict):
        container[key] = item
    else:
        container.append(item)


def _stacks_digest() -> str:
    return hashlib.sha256((BENCH / "stacks.py").read_bytes()).hexdigest()


def load_seed() -> Seed:
    if not SEED_FILE.exists():
        sys.exit(f"{SEED_FILE} is missing: run `bench/generate.py seed` (needs terraform)")
    if not SEED_STAMP.exists() or SEED_STAMP.read_text().strip() != _stacks_digest():
        sys.exit("bench/stacks.py changed since the seed plan was made, so cloned plans "
                 "would not match the HCL: run `bench/generate.py seed` (needs terraform)")
    with gzip.open(SEED_FILE, "rt", encoding="utf-8") as handle:
        return Seed(json.load(handle))


# -- commands --------------------------------------------------------------------------


def _fingerprint() -> str:
    """Changes whenever the generator, the stacks or the seed change: stale inputs are
    regenerated."""
    digest = hashlib.sha256()
    for path in (BENCH / "generate.py", BENCH / "stacks.py", SEED_FILE, FANOUT_SEED):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _fresh(directory: Path) -> bool:
    stamp = directory / ".stamp"
    return stamp.exists() and stamp.read_text() == _fingerprint()


def _stamp(directory: Path) -> None:
    (directory / ".stamp").write_text(_fingerprint())


def make_plan(resources: int, out: Path = DEFAULT_OUT, *, with_source: bool = True,
              seed: Seed | None = None, layout: str = "mixed") -> Path:
    """`out/plan-N/plan.json` (and its HCL in `out/plan-N/src/`); reused when fresh.
    With `layout="fleet"`: `out/fleet-N/`; `layout="fanout"`: `out/fanout-N/`, N rules
    (see `fanout_document`)."""
    directory = out / (f"plan-{resources}" if layout == "mixed" else f"{layout}-{resources}")
    if _fresh(directory):
        return directory / "plan.json"
    if layout == "fanout":
        return _make_fanout(resources, directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    seed = seed or load_seed()
    spec = spec_for_resources(resources, seed, layout)
    document = seed.clone(spec)
    (directory / "plan.json").write_text(json.dumps(document, separators=(",", ":")),
                                         encoding="utf-8")
    if with_source:
        write_tree(spec, directory / "src")
    _write_info(directory, spec, resources=len(document.get("resource_changes", [])))
    _stamp(directory)
    return directory / "plan.json"


# -- fan-out plans ------------------------------------------------------------------------

# A real terraform 1.11 plan (offline hashicorp/aws 5.100) of its main.tf with 6 rules
# and 4 subnets: `aws_security_group_rule.all` (count = rules) names the whole
# `aws_subnet.x` (count = subnets) in `cidr_blocks`; `aws_vpc_security_group_ingress_
# rule.mod`/`.same` and `aws_vpc_security_group_egress_rule.each` (for_each) pick one
# subnet each. The shape of issue 10's "500,500 edges from one fanned-out rule block".
FANOUT_SEED = BENCH.parent / "fixtures" / "loader" / "whole-block-fanout" / "plan.json"


def fanout_document(rules: int, subnets: int | None = None) -> dict[str, Any]:
    """The plan terraform writes for the fan-out seed's main.tf with `rules` rules and
    `subnets` subnets (default rules // 2): every instance cloned from the seed's first
    of its block, with the values terraform computes for its index."""
    subnets = subnets if subnets is not None else max(rules // 2, 1)
    seed = json.loads(FANOUT_SEED.read_text())
    for key in VOLATILE:
        seed.pop(key, None)
    cidrs = [f"10.{i * 4 // 256 % 256}.{i * 4 % 256}.0/22" for i in range(subnets)]
    counts = {"aws_subnet.x": subnets, "aws_security_group_rule.all": rules,
              "aws_vpc_security_group_ingress_rule.mod": rules,
              "aws_vpc_security_group_ingress_rule.same": subnets,
              "aws_vpc_security_group_egress_rule.each": rules}

    def values(block: str, i: int, current: dict[str, Any]) -> dict[str, Any]:
        if block == "aws_subnet.x":
            return {**current, "cidr_block": cidrs[i]}
        if block == "aws_security_group_rule.all":
            return {**current, "cidr_blocks": list(cidrs), "from_port": i, "to_port": i}
        if block == "aws_vpc_security_group_ingress_rule.same":
            return {**current, "cidr_ipv4": cidrs[i]}
        return {**current, "cidr_ipv4": cidrs[i % subnets], "from_port": i, "to_port": i}

    def masks(block: str, mask: Any) -> Any:
        if block == "aws_security_group_rule.all" and isinstance(mask, dict):
            return {**mask, "cidr_blocks": [False] * subnets}
        return mask

    def clone(entries: list[dict[str, Any]], change: bool) -> list[dict[str, Any]]:
        cloned: list[dict[str, Any]] = []
        for entry in entries:
            block = entry["address"].split("[", 1)[0]
            if block not in counts:
                cloned.append(entry)
                continue
            if entry["index"] not in (0, "0"):
                continue
            for i in range(counts[block]):
                index: int | str = str(i) if isinstance(entry["index"], str) else i
                item = json.loads(json.dumps(entry))
                item["index"] = index
                item["address"] = f'{block}["{i}"]' if isinstance(index, str) else f"{block}[{i}]"
                if change:
                    inner = item["change"]
                    inner["after"] = values(block, i, inner["after"])
                    for key in ("after_unknown", "after_sensitive"):
                        inner[key] = masks(block, inner[key])
                else:
                    item["values"] = values(block, i, item["values"])
                    item["sensitive_values"] = masks(block, item["sensitive_values"])
                cloned.append(item)
        return sorted(cloned, key=lambda e: _sort_key(e["address"]))

    document = dict(seed)
    root = seed["planned_values"]["root_module"]
    document["planned_values"] = {**seed["planned_values"],
                                  "root_module": {**root, "resources": clone(root["resources"],
                                                                             change=False)}}
    document["resource_changes"] = clone(seed["resource_changes"], change=True)
    document["variables"] = {"rules": {"value": rules}, "subnets": {"value": subnets}}
    config_root = seed["configuration"]["root_module"]
    document["configuration"] = {**seed["configuration"], "root_module": {
        **config_root, "variables": {"rules": {"default": rules},
                                     "subnets": {"default": subnets}}}}
    return document


def _make_fanout(rules: int, directory: Path) -> Path:
    # the clone at the seed's own size is the seed: the cloning is terraform's shape
    seed = json.loads(FANOUT_SEED.read_text())
    for key in VOLATILE:
        seed.pop(key, None)
    differences = list(_diff(seed, fanout_document(6, 4), ""))
    if differences:
        sys.exit(f"the fan-out clone differs from its seed: {differences[:5]}")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    document = fanout_document(rules)
    (directory / "plan.json").write_text(json.dumps(document, separators=(",", ":")),
                                         encoding="utf-8")
    (directory / "info.json").write_text(json.dumps(
        {"resources": len(document["resource_changes"]), "rules": rules,
         "subnets": document["variables"]["subnets"]["value"]}, indent=2) + "\n")
    _stamp(directory)
    return directory / "plan.json"


def make_hcl(files: int, out: Path = DEFAULT_OUT) -> Path:
    """`out/hcl-N/`: a root module with its local modules, N .tf files in all."""
    directory = out / f"hcl-{files}"
    if _fresh(directory):
        return directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    spec = spec_for_files(files)
    size = write_tree(spec, directory)
    _write_info(directory, spec, files=len(render(spec)), bytes=size)
    _stamp(directory)
    return directory


def _write_info(directory: Path, spec: Spec, **facts: int) -> None:
    info = {
        **facts,
        "clusters": len(spec.clusters),
        "explicit": len(spec.explicit),
        "fleet": len(spec.fleet),
        "variants": {v: sum(c.variant == v for c in spec.clusters) for v in VARIANTS},
        "filler_files": len(spec.fillers),
    }
    (directory / "info.json").write_text(json.dumps(info, indent=2) + "\n")


def info(directory: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((directory / "info.json").read_text())
    return result


def cmd_seed() -> None:
    print("planning the seed estate with terraform ...", file=sys.stderr)
    document = terraform_plan(seed_spec())
    SEED_FILE.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(SEED_FILE, "wb", mtime=0) as handle:
        handle.write(json.dumps(document, indent=1, sort_keys=False).encode() + b"\n")
    SEED_STAMP.write_text(_stacks_digest() + "\n")
    seed = Seed(document)
    print(f"{SEED_FILE.relative_to(BENCH.parent)}: {len(document['resource_changes'])} "
          f"resources; per token {seed.count}", file=sys.stderr)


def verify_spec() -> Spec:
    """Not the seed: other tokens, other octets, every style and variant, two fillers."""
    clusters = [Cluster("e00007", "explicit", "good", 7), Cluster("e00012", "explicit", "nat", 12),
                Cluster("f00003", "fleet", "lean", 3), Cluster("f00020", "fleet", "good", 20),
                Cluster("e00031", "explicit", "lean", 31), Cluster("f00044", "fleet", "nat", 44)]
    return Spec(clusters, ["u00001", "u00002"])


def cmd_verify() -> int:
    spec = verify_spec()
    print("planning the verification estate with terraform ...", file=sys.stderr)
    real = terraform_plan(spec)
    clone = load_seed().clone(spec)
    DEFAULT_OUT.mkdir(parents=True, exist_ok=True)
    for name, document in (("terraform", real), ("clone", clone)):
        (DEFAULT_OUT / f"verify-{name}.json").write_text(json.dumps(document, indent=1))
    differences = list(_diff(real, clone, ""))
    for line in differences[:40]:
        print(line)
    print(f"{len(real.get('resource_changes', []))} resources; "
          f"{len(differences)} differences between terraform's plan and the clone")
    return 1 if differences else 0


def _diff(a: Any, b: Any, path: str) -> Any:
    if type(a) is not type(b):
        yield f"{path}: {type(a).__name__} != {type(b).__name__}"
    elif isinstance(a, dict):
        if list(a) != list(b):
            only_a, only_b = set(a) - set(b), set(b) - set(a)
            if only_a or only_b:
                yield f"{path}: keys only in terraform {sorted(only_a)[:5]}, " \
                      f"only in clone {sorted(only_b)[:5]}"
            else:
                yield f"{path}: key order differs"
        for key in a:
            if key in b:
                yield from _diff(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items in terraform, {len(b)} in the clone"
        if path == ".relevant_attributes":  # unordered
            a, b = sorted(a, key=json.dumps), sorted(b, key=json.dumps)
        for position, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _diff(x, y, f"{path}[{position}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="a plan of about N resources")
    plan.add_argument("sizes", type=int, nargs="+")
    plan.add_argument("--out", type=Path, default=DEFAULT_OUT)
    plan.add_argument("--layout", choices=("mixed", "fleet", "fanout"), default="mixed")
    hcl = sub.add_parser("hcl", help="an HCL tree of N .tf files")
    hcl.add_argument("sizes", type=int, nargs="+")
    hcl.add_argument("--out", type=Path, default=DEFAULT_OUT)
    sub.add_parser("seed", help="re-plan the seed estate with terraform")
    sub.add_parser("verify", help="compare a terraform plan with its clone")
    args = parser.parse_args(argv)
    if args.command == "seed":
        cmd_seed()
        return 0
    if args.command == "verify":
        return cmd_verify()
    for size in args.sizes:
        started = time.perf_counter()
        path = (make_plan(size, args.out, layout=args.layout) if args.command == "plan"
                else make_hcl(size, args.out))
        directory = path if path.is_dir() else path.parent
        print(f"{path}  {json.dumps(info(directory))}  "
              f"({time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
