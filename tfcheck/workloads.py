"""What runs inside the cluster: Kubernetes objects, Helm releases and EKS add-ons.

Policies PC6xx/PC7xx and PC301 ask questions about in-cluster workloads ("which images
does this deploy?", "is a Cluster Autoscaler installed?", "which service accounts carry
an IAM role?"). Terraform writes those workloads in four very different shapes:

- `kubernetes_*` resources of the kubernetes provider, in snake_case blocks
  (`spec.template.spec.container.image`);
- `kubernetes_manifest` (`manifest` is an object) and `kubectl_manifest` /
  `kustomization_resource` (a YAML or JSON string, possibly several documents), in the
  Kubernetes API's camelCase shape;
- `helm_release`: a chart name plus `values` (YAML strings) and `set` blocks;
- `aws_eks_addon`: an add-on name, served by AWS.

This module reads all of them once per scan (`workloads(ctx)`, memoised with
`ctx.fact`) into one small vocabulary — `KubeObject`, `PodSpec`, `Container`,
`HelmRelease` — so that a policy never has to know which shape it came from.

Safety: manifests and Helm values are parsed with `yaml.safe_load` semantics (no
tags that construct Python objects), refusing documents larger than
`MAX_YAML_BYTES`, with more than `MAX_YAML_ALIASES` aliases, or expanding to more than
`MAX_YAML_NODES` nodes (alias bombs). Nothing is executed. Values marked sensitive
(`set_sensitive`, `Sensitive`) are used for decisions but never put into messages.
Unknown values (`Unknown`) can sit anywhere; every reader here tolerates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Sensitive, Status, Unknown, reveal
from tfcheck.needs import EndpointNeed
from tfcheck.policy import ScanContext

# -- limits for untrusted YAML --------------------------------------------------------

MAX_YAML_BYTES = 1_000_000  # one values file / manifest; real ones are a few KB
MAX_YAML_ALIASES = 100  # Helm values and manifests rarely use anchors at all
MAX_YAML_NODES = 200_000  # nodes after alias expansion: stops "billion laughs"
MAX_YAML_DOCUMENTS = 500  # documents in one multi-document string


class YamlRefused(ValueError):
    """A YAML text that is too large, malformed, or an alias bomb; the message says which."""


class _LimitedLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that counts aliases while composing, to refuse alias bombs early."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_YAML_ALIASES:
                raise YamlRefused(f"more than {MAX_YAML_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def load_yaml_documents(text: str) -> list[Any]:
    """Every document of a YAML (or JSON) string, parsed safely; empty documents dropped.

    Raises `YamlRefused` with a short reason for text over the size limit, syntax
    errors, alias bombs and recursive structures. Never executes anything: only the
    safe loader's standard tags are constructed.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise YamlRefused(f"YAML text larger than {MAX_YAML_BYTES} bytes")
    loader = _LimitedLoader(text)
    documents: list[Any] = []
    try:
        while loader.check_data():  # type: ignore[no-untyped-call]
            document = loader.get_data()
            if len(documents) >= MAX_YAML_DOCUMENTS:
                raise YamlRefused(f"more than {MAX_YAML_DOCUMENTS} YAML documents")
            _check_expanded_size(document)
            if document is not None:
                documents.append(document)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise YamlRefused(f"invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise YamlRefused("YAML nested too deeply") from None
    finally:
        loader.dispose()
    return documents


def _check_expanded_size(document: Any) -> None:
    """Refuse documents whose alias-expanded size is huge, or that contain themselves."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlRefused("recursive YAML structure (an alias inside its own anchor)")
        active.add(key)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_NODES:
                raise YamlRefused(f"YAML expands to more than {MAX_YAML_NODES} nodes")
        active.discard(key)
        sizes[key] = total
        return total

    size(document)


# -- small helpers over plan-shaped values ----------------------------------------------


def _plain(value: Any) -> Any:
    """A value with its `Sensitive` wrapper removed (decisions only, never for output)."""
    return reveal(value)


def _block(value: Any) -> Any:
    """A single nested block: plans and the HCL loader give a list of one dict."""
    value = _plain(value)
    if isinstance(value, list):
        return _plain(value[0]) if value else None
    return value


def dig(value: Any, path: str) -> Any:
    """`a.b.c` into plan-shaped values, entering single blocks; None where absent.

    Never raises: `Unknown` on the way is returned, `Sensitive` is unwrapped.
    """
    for part in path.split("."):
        value = _block(value)
        if isinstance(value, Unknown):
            return value
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return _plain(value)


def blocks(value: Any) -> list[Any]:
    """A repeated block or list as a list; an `Unknown` stays a one-element list."""
    value = _plain(value)
    if value is None:
        return []
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return [value]


def _text(value: Any) -> str | Unknown | None:
    """A string value, `Unknown`, or None for anything else (numbers become text)."""
    value = _plain(value)
    if isinstance(value, Unknown) or value is None:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _or(value: Any, fallback: Any) -> Any:
    """`value or fallback` for values that may be `Unknown` (which has no truth value)."""
    return fallback if value is None or value == "" else value


def _mapping(value: Any) -> dict[str, Any]:
    """A map attribute (`annotations`, `labels`, `data`); empty where absent or unknown."""
    value = _block(value) if isinstance(_plain(value), list) else _plain(value)
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}


def first_unknown(values: Iterable[Any]) -> Unknown | None:
    """The first `Unknown` among values, for messages that must say what was missing."""
    for value in values:
        if isinstance(value, Unknown):
            return value
    return None


# -- the vocabulary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """One container of a pod: what it runs and with which arguments and environment."""

    name: str
    image: str | Unknown | None
    command: tuple[str | Unknown, ...] = ()
    args: tuple[str | Unknown, ...] = ()
    env: Mapping[str, Any] = field(default_factory=dict)  # name -> value (None: valueFrom)
    init: bool = False
    path: str = ""  # where it is written, for messages: "spec.template.spec.container[0]"
    sensitive_image: bool = False

    @property
    def argv(self) -> tuple[str | Unknown, ...]:
        return (*self.command, *self.args)

    def describe(self) -> str:
        kind = "init container" if self.init else "container"
        return f"{kind} {self.name!r}" if self.name else kind


@dataclass(frozen=True)
class PodSpec:
    """A pod template: its containers and the service account its pods run as."""

    containers: tuple[Container, ...]
    service_account: str | Unknown | None  # None: the namespace's "default" account
    annotations: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object a resource creates, whatever Terraform shape wrote it.

    `kind` is the Kubernetes kind (`Deployment`, `ServiceAccount`, `Ingress`, ...).
    Kind-specific facts are normalised into the optional fields below so that policies
    do not parse snake_case and camelCase themselves.
    """

    resource: Resource
    kind: str
    name: str | Unknown | None
    namespace: str | Unknown
    annotations: Mapping[str, Any] = field(default_factory=dict)
    labels: Mapping[str, Any] = field(default_factory=dict)
    pod: PodSpec | None = None
    service_type: str | Unknown | None = None  # Service
    ingress_class: str | Unknown | None = None  # Ingress (spec class or annotation)
    tls_hosts: tuple[str | Unknown, ...] = ()  # Ingress spec.tls[].hosts
    rule_hosts: tuple[str | Unknown, ...] = ()  # Ingress spec.rules[].host
    controller: str | Unknown | None = None  # IngressClass spec.controller
    data: Mapping[str, Any] = field(default_factory=dict)  # ConfigMap data
    document: int | None = None  # index of the document in a multi-document manifest
    annotations_unknown: Unknown | None = None  # the whole annotations map is unknown
    raw: Mapping[str, Any] = field(default_factory=dict)  # the API object (manifests only)
    sensitive: bool = False  # read from a sensitive value: never print what it holds

    @property
    def label(self) -> str:
        """`Deployment kube-system/cluster-autoscaler`, for messages."""
        name = self.name if isinstance(self.name, str) else "?"
        namespace = self.namespace if isinstance(self.namespace, str) else "?"
        doc = f" (document {self.document + 1})" if self.document is not None else ""
        return f"{self.kind} {namespace}/{name}{doc}"


@dataclass(frozen=True)
class HelmRelease:
    """A `helm_release`: its chart and the values it is installed with.

    `values` merges the `values` documents in order, then applies `set`, `set_list` and
    `set_sensitive` the way Helm does (later wins). `sensitive` lists the value paths that
    came from `set_sensitive`: they decide, but are never printed. `problems` lists what
    could not be read (an unknown or unparsable values document), so that a policy can
    answer `unknown` instead of guessing.
    """

    resource: Resource
    chart: str | Unknown  # normalised chart name: "cluster-autoscaler"
    chart_ref: str | Unknown  # the chart attribute as written
    repository: str | Unknown | None
    version: str | Unknown | None
    namespace: str | Unknown
    values: Mapping[str, Any] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()
    values_sensitive: bool = False  # a `values` document is marked sensitive

    def value(self, path: str) -> Any:
        """A value by Helm `--set` path (`extraArgs.aws-use-static-instance-list`)."""
        return helm_get(self.values, path)

    @property
    def label(self) -> str:
        chart = self.chart if isinstance(self.chart, str) else "?"
        return f"Helm chart {chart}"

    def shown(self, path: str, value: Any) -> str:
        """A value for a message: its repr, unless it may come from a sensitive source."""
        if self.values_sensitive or isinstance(value, Sensitive) or any(
            helm_path(name) == helm_path(path) for name in self.sensitive
        ):
            return "(sensitive value)"
        return repr(_plain(value))


@dataclass(frozen=True)
class Workloads:
    """Everything the scan deploys into clusters, read once."""

    objects: tuple[KubeObject, ...] = ()
    releases: tuple[HelmRelease, ...] = ()
    addons: tuple[Resource, ...] = ()
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # address -> why

    def of_kind(self, *kinds: str) -> list[KubeObject]:
        return [o for o in self.objects if o.kind in kinds]

    def pods(self) -> list[KubeObject]:
        return [o for o in self.objects if o.pod is not None]


def workloads(ctx: ScanContext) -> Workloads:
    """The scan's in-cluster workloads (memoised per scan)."""
    return ctx.fact(_read_workloads)


def _read_workloads(ctx: ScanContext) -> Workloads:
    return read_workloads(ctx.graph)


def read_workloads(graph: ResourceGraph) -> Workloads:
    """Read every workload-shaped resource of a graph; never raises on odd values."""
    objects: list[KubeObject] = []
    releases: list[HelmRelease] = []
    problems: dict[str, tuple[str, ...]] = {}
    for resource in graph.managed():
        try:
            if resource.type in _TF_POD_RESOURCES:
                objects.append(_tf_pod_object(resource))
            elif resource.type in _TF_SIMPLE_KINDS:
                objects.append(_tf_simple_object(resource))
            elif resource.type in _MANIFEST_RESOURCES:
                found, why = _manifest_objects(resource)
                objects.extend(found)
                if why:
                    problems[resource.address] = why
            elif resource.type == "helm_release":
                release = _helm_release(resource)
                releases.append(release)
                if release.problems:
                    problems[resource.address] = release.problems
        except YamlRefused as error:  # pragma: no cover - caught closer to the source
            problems[resource.address] = (str(error),)
    addons = tuple(graph.managed("aws_eks_addon"))
    return Workloads(tuple(objects), tuple(releases), addons, problems)


# -- kubernetes provider resources (snake_case) ----------------------------------------

# type -> (kind, path of the pod spec inside the resource)
_TF_POD_RESOURCES: dict[str, tuple[str, str]] = {}
for _base, _kind, _path in (
    ("kubernetes_deployment", "Deployment", "spec.template.spec"),
    ("kubernetes_daemonset", "DaemonSet", "spec.template.spec"),
    ("kubernetes_daemon_set", "DaemonSet", "spec.template.spec"),
    ("kubernetes_stateful_set", "StatefulSet", "spec.template.spec"),
    ("kubernetes_replication_controller", "ReplicationController", "spec.template.spec"),
    ("kubernetes_job", "Job", "spec.template.spec"),
    ("kubernetes_cron_job", "CronJob", "spec.job_template.spec.template.spec"),
    ("kubernetes_pod", "Pod", "spec"),
):
    _TF_POD_RESOURCES[_base] = (_kind, _path)
    _TF_POD_RESOURCES[_base + "_v1"] = (_kind, _path)
del _TF_POD_RESOURCES["kubernetes_daemonset_v1"]  # the v1 name is kubernetes_daemon_set_v1

_TF_SIMPLE_KINDS: dict[str, str] = {}
for _base, _kind in (
    ("kubernetes_service_account", "ServiceAccount"),
    ("kubernetes_service", "Service"),
    ("kubernetes_ingress", "Ingress"),
    ("kubernetes_ingress_class", "IngressClass"),
    ("kubernetes_config_map", "ConfigMap"),
):
    _TF_SIMPLE_KINDS[_base] = _kind
    _TF_SIMPLE_KINDS[_base + "_v1"] = _kind
_TF_SIMPLE_KINDS["kubernetes_config_map_v1_data"] = "ConfigMap"


def _tf_metadata(resource: Resource) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    metadata = _block(resource.values.get("metadata"))
    if isinstance(metadata, Unknown):
        return metadata, "default", {}, {}
    metadata = metadata if isinstance(metadata, dict) else {}
    name = _text(metadata.get("name"))
    if name is None and metadata.get("generate_name") is not None:
        name = _text(metadata.get("generate_name"))
    namespace = _or(_text(metadata.get("namespace")), "default")
    return name, namespace, _mapping(metadata.get("annotations")), _mapping(metadata.get("labels"))


def _unknown_annotations(metadata: Any) -> Unknown | None:
    """The `Unknown` standing for a whole annotations map, if it is one."""
    metadata = _block(metadata)
    if isinstance(metadata, Unknown):
        return metadata
    if isinstance(metadata, dict):
        value = _plain(metadata.get("annotations"))
        if isinstance(value, Unknown):
            return value
    return None


@dataclass(frozen=True)
class _Spelling:
    """How one Terraform shape spells the Kubernetes fields tfcheck reads.

    The kubernetes provider's resources use snake_case blocks (`init_container`);
    manifests use the Kubernetes API's camelCase (`initContainers`). One reader serves
    both, with the names from here.
    """

    containers: str
    init_containers: str
    value_from: str
    service_account: str
    service_account_legacy: str
    ingress_class: str
    rules: str


TF_SPELLING = _Spelling("container", "init_container", "value_from", "service_account_name",
                        "service_account", "ingress_class_name", "rule")
API_SPELLING = _Spelling("containers", "initContainers", "valueFrom", "serviceAccountName",
                         "serviceAccount", "ingressClassName", "rules")


def _tf_pod_object(resource: Resource) -> KubeObject:
    kind, path = _TF_POD_RESOURCES[resource.type]
    name, namespace, annotations, labels = _tf_metadata(resource)
    template_annotations = annotations if path == "spec" else _mapping(
        dig(resource.values, path.rsplit(".", 1)[0] + ".metadata.annotations"))
    pod = _pod_spec(dig(resource.values, path), path, template_annotations, TF_SPELLING)
    return KubeObject(resource, kind, name, namespace, annotations, labels, pod=pod)


def _pod_spec(spec: Any, path: str, annotations: Mapping[str, Any],
              spelling: _Spelling) -> PodSpec:
    """A pod spec in either spelling; an unknown spec is one container of unknown image."""
    spec = _block(spec)
    if isinstance(spec, Unknown):
        unknown = Container("", Unknown(f"the pod spec is not known ({spec.reason})"),
                            path=path)
        return PodSpec((unknown,), spec, path=path)
    spec = spec if isinstance(spec, dict) else {}
    containers: list[Container] = []
    for key, init in ((spelling.init_containers, True), (spelling.containers, False)):
        raw = _plain(spec.get(key))
        if isinstance(raw, Unknown):
            containers.append(Container("", raw, init=init, path=f"{path}.{key}"))
            continue
        for index, item in enumerate(blocks(raw)):
            containers.append(_container(item, init, f"{path}.{key}[{index}]", spelling))
    account = _text(spec.get(spelling.service_account))
    if account is None:
        account = _text(spec.get(spelling.service_account_legacy))
    return PodSpec(tuple(containers), _or(account, None), dict(annotations), path)


def _container(item: Any, init: bool, path: str, spelling: _Spelling) -> Container:
    if isinstance(item, Unknown):
        return Container("", item, init=init, path=path)
    item = item if isinstance(item, dict) else {}
    env: dict[str, Any] = {}
    for entry in blocks(item.get("env")):
        if isinstance(entry, dict):
            name = _text(entry.get("name"))
            if isinstance(name, str):
                value = entry.get("value")
                from_source = _plain(entry.get(spelling.value_from))
                env[name] = None if value is None and from_source not in (None, [], {}) else (
                    _text(value))
    name = _text(item.get("name"))
    return Container(
        name=name if isinstance(name, str) else "",
        image=_text(item.get("image")),
        command=_strings(item.get("command")),
        args=_strings(item.get("args")),
        env=env,
        init=init,
        path=path,
        sensitive_image=isinstance(item.get("image"), Sensitive),
    )


def _ingress_fields(spec: Mapping[str, Any], annotations: Mapping[str, Any],
                    spelling: _Spelling) -> dict[str, Any]:
    """An Ingress's class (spec or legacy annotation), TLS hosts and rule hosts."""
    cls = _text(spec.get(spelling.ingress_class))
    if cls is None:
        cls = _text(annotations.get("kubernetes.io/ingress.class"))
    tls_hosts: list[str | Unknown] = []
    for tls in blocks(spec.get("tls")):
        if isinstance(tls, Unknown):
            tls_hosts.append(tls)
        elif isinstance(tls, dict):
            tls_hosts.extend(_strings(tls.get("hosts")))
    rule_hosts: list[str | Unknown] = []
    for rule in blocks(spec.get(spelling.rules)):
        if isinstance(rule, dict) and rule.get("host") is not None:
            host = _text(rule.get("host"))
            if host is not None:
                rule_hosts.append(host)
    return {"ingress_class": cls, "tls_hosts": tuple(tls_hosts),
            "rule_hosts": tuple(rule_hosts)}


def _strings(value: Any) -> tuple[str | Unknown, ...]:
    value = _plain(value)
    if isinstance(value, Unknown):
        return (value,)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        return ()
    out: list[str | Unknown] = []
    for item in value:
        text = _text(item)
        if text is not None:
            out.append(text)
    return tuple(out)


def _tf_simple_object(resource: Resource) -> KubeObject:
    kind = _TF_SIMPLE_KINDS[resource.type]
    name, namespace, annotations, labels = _tf_metadata(resource)
    spec = _block(resource.values.get("spec"))
    spec = spec if isinstance(spec, dict) else {}
    if kind == "Service":
        service_type = _or(_text(spec.get("type")), "ClusterIP")
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          service_type=service_type)
    if kind == "Ingress":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          **_ingress_fields(spec, annotations, TF_SPELLING))
    if kind == "IngressClass":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          controller=_text(spec.get("controller")))
    if kind == "ConfigMap":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          data=_mapping(resource.values.get("data")))
    return KubeObject(resource, kind, name, namespace, annotations, labels,
                      annotations_unknown=_unknown_annotations(resource.values.get("metadata")))


# -- manifests (camelCase Kubernetes API objects) -------------------------------------

_MANIFEST_RESOURCES = ("kubernetes_manifest", "kubectl_manifest", "kustomization_resource")

# kind -> path of the pod spec in the API object
_API_POD_PATHS: dict[str, str] = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "ReplicationController": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}


def _manifest_objects(resource: Resource) -> tuple[list[KubeObject], tuple[str, ...]]:
    """The objects of a manifest resource, and why some could not be read."""
    if resource.type == "kubernetes_manifest":
        sensitive = isinstance(resource.values.get("manifest"), Sensitive)
        manifest = _plain(resource.values.get("manifest"))
        if isinstance(manifest, Unknown):
            return [], (f"manifest is not known ({manifest.reason})",)
        if isinstance(manifest, str):  # a loader that kept jsonencode() output as text
            documents, why = _parse_documents(manifest, "manifest")
        else:
            documents, why = ([manifest] if isinstance(manifest, dict) else []), ()
    else:
        attribute = "yaml_body" if resource.type == "kubectl_manifest" else "manifest"
        raw_body = resource.values.get(attribute)
        parsed = resource.values.get("yaml_body_parsed")
        if resource.type == "kubectl_manifest" and (raw_body is None or isinstance(
            raw_body, Sensitive
        )) and isinstance(parsed, str):
            # the kubectl provider marks yaml_body sensitive; yaml_body_parsed is the same
            # document with Secret data obfuscated, safe to show
            raw_body, attribute = parsed, "yaml_body_parsed"
        sensitive = isinstance(raw_body, Sensitive)
        body = _plain(raw_body)
        if isinstance(body, Unknown):
            return [], (f"{attribute} is not known ({body.reason})",)
        if not isinstance(body, str):
            return [], ()
        documents, why = _parse_documents(body, attribute)
    override_ns = _text(resource.values.get("override_namespace"))
    objects: list[KubeObject] = []
    multiple = len(documents) > 1
    for index, document in enumerate(documents):
        for obj in _expand_lists(document):
            found = _api_object(resource, obj, index if multiple else None)
            if found is not None:
                if override_ns is not None and override_ns != "":
                    found = _replace_namespace(found, override_ns)
                if sensitive:
                    found = replace(found, sensitive=True)
                objects.append(found)
    return objects, why


def _parse_documents(text: str, attribute: str) -> tuple[list[Any], tuple[str, ...]]:
    try:
        return load_yaml_documents(text), ()
    except YamlRefused as error:
        return [], (f"{attribute} could not be read: {error}",)


def _expand_lists(document: Any) -> Iterator[Any]:
    """A `kind: List` (or `*List`) yields its items; anything else itself."""
    if isinstance(document, dict) and str(document.get("kind", "")).endswith("List"):
        yield from blocks(document.get("items"))
    else:
        yield document


def _replace_namespace(obj: KubeObject, namespace: str | Unknown) -> KubeObject:
    return replace(obj, namespace=namespace)


def _api_object(resource: Resource, obj: Any, document: int | None) -> KubeObject | None:
    if not isinstance(obj, dict):
        return None
    kind = _text(obj.get("kind"))
    if not isinstance(kind, str):
        return None
    metadata = _plain(obj.get("metadata"))
    metadata = metadata if isinstance(metadata, dict) else {}
    name = _text(metadata.get("name"))
    if name is None:
        name = _text(metadata.get("generateName"))
    namespace = _or(_text(metadata.get("namespace")), "default")
    annotations = _mapping(metadata.get("annotations"))
    labels = _mapping(metadata.get("labels"))
    spec = _plain(obj.get("spec"))
    spec = spec if isinstance(spec, dict) else {}
    common: dict[str, Any] = {"annotations": annotations, "labels": labels, "document": document,
                              "annotations_unknown": _unknown_annotations(metadata), "raw": obj}
    if kind in _API_POD_PATHS:
        path = _API_POD_PATHS[kind]
        template_annotations = annotations if path == "spec" else _mapping(
            dig(obj, path.rsplit(".", 1)[0] + ".metadata.annotations"))
        pod = _pod_spec(dig(obj, path), path, template_annotations, API_SPELLING)
        return KubeObject(resource, kind, name, namespace, pod=pod, **common)
    if kind == "Service":
        service_type = _or(_text(spec.get("type")), "ClusterIP")
        return KubeObject(resource, kind, name, namespace, service_type=service_type, **common)
    if kind == "Ingress":
        return KubeObject(resource, kind, name, namespace,
                          **_ingress_fields(spec, annotations, API_SPELLING), **common)
    if kind == "IngressClass":
        return KubeObject(resource, kind, name, namespace,
                          controller=_text(spec.get("controller")), **common)
    if kind == "ConfigMap":
        return KubeObject(resource, kind, name, namespace, data=_mapping(obj.get("data")),
                          **common)
    return KubeObject(resource, kind, name, namespace, **common)


# -- Helm releases ----------------------------------------------------------------------


def chart_name(chart: str) -> str:
    """The bare chart name from what `helm_release.chart` may hold.

    `cluster-autoscaler`, `autoscaler/cluster-autoscaler` (repo/chart),
    `oci://public.ecr.aws/karpenter/karpenter`, `https://.../metrics-server-3.12.1.tgz`,
    `./charts/my-app` all name a chart; the last path segment, without `.tgz` and a
    trailing semantic version, is its name.
    """
    name = chart.strip().rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"\.(tgz|tar\.gz)$", "", name)
    if name != chart.strip() or chart.endswith((".tgz", ".tar.gz")):
        name = re.sub(r"-v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$", "", name)
    return name.lower()


def _helm_release(resource: Resource) -> HelmRelease:
    values = resource.values
    chart_ref = _text(values.get("chart"))
    if chart_ref is None:
        chart_ref = Unknown("the chart is not set")
    chart = chart_name(chart_ref) if isinstance(chart_ref, str) else chart_ref
    merged: dict[str, Any] = {}
    problems: list[str] = []
    raw_list = values.get("values")
    values_sensitive = isinstance(raw_list, Sensitive) or (
        isinstance(raw_list, list) and any(isinstance(v, Sensitive) for v in raw_list))
    raw_values = _plain(values.get("values"))
    if isinstance(raw_values, Unknown):
        problems.append(f"values is not known ({raw_values.reason})")
    else:
        for index, document in enumerate(blocks(raw_values)):
            if isinstance(document, Unknown):
                problems.append(f"values[{index}] is not known ({document.reason})")
                continue
            if not isinstance(document, str):
                continue
            try:
                parsed = load_yaml_documents(document)
            except YamlRefused as error:
                problems.append(f"values[{index}] could not be read: {error}")
                continue
            for part in parsed[:1]:  # helm reads the first document of a values file
                if isinstance(part, dict):
                    _deep_merge(merged, part)
    sensitive: set[str] = set()
    for block_name in ("set", "set_list", "set_sensitive"):
        raw_sets = _plain(values.get(block_name))
        if isinstance(raw_sets, Unknown):
            problems.append(f"{block_name} is not known ({raw_sets.reason})")
            continue
        for index, item in enumerate(blocks(raw_sets)):
            if not isinstance(item, dict):
                continue
            name = _text(item.get("name"))
            if not isinstance(name, str):
                problems.append(f"{block_name}[{index}].name is not known")
                continue
            raw = item.get("value")
            if block_name == "set_list":
                value: Any = _plain(raw)
            else:
                value = _set_value(raw, _text(item.get("type")))
            if block_name == "set_sensitive" or isinstance(raw, Sensitive):
                sensitive.add(name)
            helm_set(merged, name, value)
    namespace = _or(_text(values.get("namespace")), "default")
    return HelmRelease(
        resource=resource,
        chart=chart,
        chart_ref=chart_ref,
        repository=_text(values.get("repository")),
        version=_text(values.get("version")),
        namespace=namespace,
        values=merged,
        sensitive=frozenset(sensitive),
        problems=tuple(problems),
        values_sensitive=values_sensitive,
    )


def _set_value(raw: Any, kind: str | Unknown | None) -> Any:
    """A `set` value as Helm types it: `true`/`false`/integers unless `type = "string"`."""
    value = _plain(raw)
    if isinstance(value, Unknown) or not isinstance(value, str) or kind == "string":
        return value
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if value == "null":
        return None
    return value


def _deep_merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        key = str(key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def helm_path(name: str) -> list[str | int]:
    r"""Split a Helm `--set` name: `a.b\\.c[0].d` -> `["a", "b.c", 0, "d"]`."""
    parts: list[str | int] = []
    current = ""
    index = 0
    while index < len(name):
        char = name[index]
        if char == "\\" and index + 1 < len(name):
            current += name[index + 1]
            index += 2
            continue
        if char == ".":
            if current:
                parts.append(current)
            current = ""
        elif char == "[":
            end = name.find("]", index)
            if end == -1:
                current += name[index:]
                break
            if current:
                parts.append(current)
            current = ""
            inner = name[index + 1:end]
            parts.append(int(inner) if inner.isdigit() else inner)
            index = end
        else:
            current += char
        index += 1
    if current:
        parts.append(current)
    return parts


def helm_set(values: dict[str, Any], name: str, value: Any) -> None:
    """Apply one `--set name=value` to a values tree, creating maps and lists on the way."""
    parts = helm_path(name)
    if not parts or len(parts) > 64:
        return
    node: Any = values
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        nxt: Any = [] if not last and isinstance(parts[position + 1], int) else {}
        if isinstance(part, int):
            if not isinstance(node, list) or part > 1000:
                return
            while len(node) <= part:
                node.append(None)
            if last:
                node[part] = value
            elif not isinstance(node[part], (dict, list)):
                node[part] = nxt
            node = node[part]
        else:
            if not isinstance(node, dict):
                return
            if last:
                node[part] = value
            elif not isinstance(node.get(part), (dict, list)):
                node[part] = nxt
            node = node[part]


def helm_get(values: Mapping[str, Any], path: str) -> Any:
    """A value by `--set` path; None where absent, `Unknown` where unknown."""
    node: Any = values
    for part in helm_path(path):
        node = _plain(node)
        if isinstance(node, Unknown):
            return node
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
            node = node[part]
        else:
            if not isinstance(node, dict):
                return None
            node = node.get(part)
    return _plain(node)


def walk_values(value: Any, path: str = "", budget: list[int] | None = None
                ) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every node of a values tree, parents before children.

    Bounded by `MAX_YAML_NODES` visits so that a shared sub-tree cannot blow it up.
    """
    if budget is None:
        budget = [MAX_YAML_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        return
    yield path, value
    value = _plain(value)
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk_values(item, f"{path}.{key}" if path else str(key), budget)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_values(item, f"{path}[{index}]", budget)


def truthy(value: Any) -> bool | None:
    """Helm/flag truth: True, False, or None when not a recognisable boolean."""
    value = _plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().strip('"').lower()
        if lowered in ("true", "1", "t", "yes"):
            return True
        if lowered in ("false", "0", "f", "no"):
            return False
    return None


# -- command-line flags -------------------------------------------------------------------


def flag_value(argv: Iterable[str | Unknown], flag: str) -> str | bool | Unknown | None:
    """The value a container passes for `--flag` (Go flag syntax).

    `--flag=value` and `-flag=value` give the value; a bare `--flag` gives True (the Go
    convention for boolean flags); `--flag value` gives the next word. None where the
    flag is absent; `Unknown` where an unknown argument could be it.
    """
    words = list(argv)
    found: str | bool | Unknown | None = None
    unknown: Unknown | None = None
    names = (f"--{flag}", f"-{flag}")
    for position, word in enumerate(words):
        if isinstance(word, Unknown):
            unknown = unknown or word
            continue
        for token in _split_shell_words(word):
            for name in names:
                if token == name:
                    following = words[position + 1] if position + 1 < len(words) else None
                    if isinstance(following, str) and following.lower() in ("true", "false"):
                        found = following
                    else:
                        found = True
                elif token.startswith(name + "="):
                    found = token[len(name) + 1:]
    if found is None and unknown is not None:
        return unknown
    return found


def _split_shell_words(word: str) -> list[str]:
    """Words of one argv entry; `sh -c "... --flag=x ..."` puts many flags in one."""
    return word.split() if " " in word or "\n" in word else [word]


def mentions(argv: Iterable[str | Unknown], needle: str) -> bool:
    return any(isinstance(word, str) and needle in word for word in argv)


# -- images -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
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


@dataclass(frozen=True)
class ImageUse:
    """One image a resource deploys, and where it is written.

    `chart_default` marks an image that no value overrides: the chart's own default
    (from `CHART_DEFAULTS`). `component` names a well-known component the image belongs
    to (`aws-efs-csi-driver`, `cluster-autoscaler`, ...) or is "".
    """

    resource: Resource
    image: str | Unknown
    where: str
    component: str = ""
    chart_default: bool = False
    obj: KubeObject | None = None
    container: Container | None = None
    sensitive: bool = False  # from set_sensitive / a sensitive value: never print it

    @property
    def shown(self) -> str:
        """The image as messages may print it."""
        if self.sensitive:
            return "(sensitive value)"
        return self.image if isinstance(self.image, str) else "(unknown)"


@dataclass(frozen=True)
class ChartDefault:
    """One image a well-known chart deploys unless its values override it.

    `legacy` is the default of chart versions before `legacy_before` (where the chart
    moved its image); a release without a known `version` gets the current default.
    """

    repository_path: str  # Helm path of the repository value ("image.repository")
    default: str  # the chart's current default repository
    versions: str  # the chart versions `default` is read from
    legacy: str | None = None
    legacy_before: str | None = None

    def for_version(self, version: str | Unknown | None) -> tuple[str, str]:
        """(repository, versions it is documented for) for a release's chart version."""
        if self.legacy is not None and self.legacy_before is not None and isinstance(
            version, str
        ) and _version_key(version) < _version_key(self.legacy_before):
            return self.legacy, f"chart versions before {self.legacy_before}"
        return self.default, self.versions


def _version_key(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version.split("-", 1)[0].split("+", 1)[0])
    return tuple(int(n) for n in numbers[:3]) or (0,)


# The default images of well-known charts, read from each chart's values.yaml. Only
# the registry matters to the policies: all of these are on the internet (or in
# us-west-2's ECR), which is why an override is needed in a private cluster.
CHART_DEFAULTS: dict[str, tuple[ChartDefault, ...]] = {
    "cluster-autoscaler": (
        ChartDefault("image.repository", "registry.k8s.io/autoscaling/cluster-autoscaler",
                     "kubernetes/autoscaler chart 9.21+",
                     legacy="k8s.gcr.io/autoscaling/cluster-autoscaler", legacy_before="9.21.0"),
    ),
    "aws-load-balancer-controller": (
        ChartDefault("image.repository", "public.ecr.aws/eks/aws-load-balancer-controller",
                     "aws/eks-charts 1.5+",
                     legacy="602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/"
                            "aws-load-balancer-controller", legacy_before="1.5.0"),
    ),
    "aws-efs-csi-driver": (
        ChartDefault("image.repository", "public.ecr.aws/efs-csi-driver/amazon/aws-efs-csi-driver",
                     "kubernetes-sigs/aws-efs-csi-driver chart 3.x (driver 2.x)",
                     legacy="amazon/aws-efs-csi-driver", legacy_before="3.0.0"),
        ChartDefault("sidecars.livenessProbe.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/livenessprobe", "chart 2.2+"),
        ChartDefault("sidecars.nodeDriverRegistrar.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/node-driver-registrar",
                     "chart 2.2+"),
        ChartDefault("sidecars.csiProvisioner.image.repository",
                     "public.ecr.aws/eks-distro/kubernetes-csi/external-provisioner",
                     "chart 2.2+"),
    ),
    "appmesh-controller": (
        ChartDefault("image.repository",
                     "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/appmesh-controller",
                     "aws/eks-charts 1.x"),
    ),
    "metrics-server": (
        ChartDefault("image.repository", "registry.k8s.io/metrics-server/metrics-server",
                     "kubernetes-sigs/metrics-server chart 3.8+",
                     legacy="k8s.gcr.io/metrics-server/metrics-server", legacy_before="3.8.0"),
    ),
    "external-dns": (
        ChartDefault("image.repository", "registry.k8s.io/external-dns/external-dns",
                     "kubernetes-sigs/external-dns chart 1.x"),
    ),
    "karpenter": (
        ChartDefault("controller.image.repository", "public.ecr.aws/karpenter/controller",
                     "oci://public.ecr.aws/karpenter/karpenter 0.32+"),
    ),
    "aws-node-termination-handler": (
        ChartDefault("image.repository", "public.ecr.aws/aws-ec2/aws-node-termination-handler",
                     "aws/eks-charts 0.21+"),
    ),
    "aws-for-fluent-bit": (
        ChartDefault("image.repository", "public.ecr.aws/aws-observability/aws-for-fluent-bit",
                     "aws/eks-charts 0.1.2x"),
    ),
}


def release_images(release: HelmRelease) -> list[ImageUse]:
    """The images a Helm release deploys: values that name images, and chart defaults.

    Values name images as `image: "repo:tag"`, or as a map with `repository` (plus
    `tag`, and in Bitnami-style charts `registry`). For a chart in `CHART_DEFAULTS`,
    every documented image path the values do not override contributes its default.
    Images set through `set_sensitive` are marked `sensitive`.
    """
    uses: list[ImageUse] = []
    seen_paths: set[str] = set()
    chart = release.chart if isinstance(release.chart, str) else ""
    secret_paths = _sensitive_walk_paths(release)

    def secret(path: str) -> bool:
        if release.values_sensitive:
            return True
        return any(path == p or path.startswith(p + ".") or p.startswith(path + ".")
                   for p in secret_paths)

    for default in CHART_DEFAULTS.get(chart, ()):
        override = release.value(default.repository_path)
        base = default.repository_path.rsplit(".", 1)[0]
        seen_paths.add(base)
        if override is None:
            image, versions = default.for_version(release.version)
            uses.append(ImageUse(release.resource, image,
                                 f"chart default {default.repository_path} ({versions})",
                                 component=chart, chart_default=True))
        else:
            use = _image_from_map(release, base, release.value(base), chart)
            uses.append(_mark_sensitive(use, secret(base)))
    component = _component_of_chart(chart)
    for path, value in walk_values(release.values):
        if path in seen_paths:
            continue
        key = path.rsplit(".", 1)[-1]
        plain = _plain(value)
        if _is_image_key(key) and isinstance(plain, dict) and "repository" in plain:
            seen_paths.add(path)
            use = _image_from_map(release, path, plain, component)
            uses.append(_mark_sensitive(use, secret(path)))
        elif _is_image_key(key) and isinstance(plain, (str, Unknown)) and _looks_like_image(
            plain
        ):
            uses.append(ImageUse(release.resource, plain, f"value {path}", component=component,
                                 sensitive=secret(path)))
    return uses


def _mark_sensitive(use: ImageUse, sensitive: bool) -> ImageUse:
    return replace(use, sensitive=True) if sensitive else use


def _sensitive_walk_paths(release: HelmRelease) -> set[str]:
    """`set_sensitive` names in the dotted form `walk_values` yields."""
    paths = set()
    for name in release.sensitive:
        text = ""
        for part in helm_path(name):
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        paths.add(text)
    return paths


def _is_image_key(key: str) -> bool:
    return key == "image" or key.endswith("Image") or key.endswith("_image")


def _looks_like_image(value: str | Unknown) -> bool:
    if isinstance(value, Unknown):
        return True
    return bool(value) and " " not in value and not value.startswith(("-", "{", "["))


def _image_from_map(release: HelmRelease, path: str, value: Any, component: str) -> ImageUse:
    value = _plain(value)
    if isinstance(value, Unknown):
        return ImageUse(release.resource, value, f"value {path}", component=component)
    if isinstance(value, str):
        return ImageUse(release.resource, value, f"value {path}", component=component)
    value = value if isinstance(value, dict) else {}
    repository = _text(value.get("repository"))
    registry = _text(value.get("registry"))
    where = f"value {path}.repository"
    if isinstance(repository, Unknown) or isinstance(registry, Unknown):
        unknown = repository if isinstance(repository, Unknown) else registry
        assert isinstance(unknown, Unknown)
        return ImageUse(release.resource, unknown, where, component=component)
    image = repository or ""
    if registry:
        image = f"{registry.rstrip('/')}/{image}"
    return ImageUse(release.resource, image, where, component=component)


def _component_of_chart(chart: str) -> str:
    return chart if chart in COMPONENT_CHARTS else ""


def object_images(obj: KubeObject) -> list[ImageUse]:
    """The images of a Kubernetes object's pod spec, one per container."""
    if obj.pod is None:
        return []
    uses = []
    for container in obj.pod.containers:
        if container.image is None:
            continue
        where = f"{container.describe()} ({container.path})"
        component = component_of_container(container)
        uses.append(ImageUse(obj.resource, container.image, where, component=component,
                             obj=obj, container=container,
                             sensitive=container.sensitive_image or obj.sensitive))
    return uses


def image_uses(ctx: ScanContext) -> list[ImageUse]:
    """Every image the scan deploys, from objects and Helm releases (memoised)."""
    return ctx.fact(_image_uses)


def _image_uses(ctx: ScanContext) -> list[ImageUse]:
    found = workloads(ctx)
    uses: list[ImageUse] = []
    for obj in found.objects:
        uses.extend(object_images(obj))
    for release in found.releases:
        uses.extend(release_images(release))
    return uses


# -- well-known components ------------------------------------------------------------

# component -> chart names; image names are matched by `component_of_image`
COMPONENT_CHARTS: dict[str, str] = {
    "cluster-autoscaler": "cluster-autoscaler",
    "cluster-autoscaler-chart": "cluster-autoscaler",
    "aws-load-balancer-controller": "aws-load-balancer-controller",
    "aws-efs-csi-driver": "aws-efs-csi-driver",
    "appmesh-controller": "appmesh-controller",
    "eks-pod-identity-agent": "eks-pod-identity-agent",
    "amazon-cloudwatch-observability": "amazon-cloudwatch-observability",
    "aws-cloudwatch-metrics": "aws-cloudwatch-metrics",
    "aws-for-fluent-bit": "aws-for-fluent-bit",
    "fluent-bit": "fluent-bit",
    "aws-xray-daemon": "aws-xray-daemon",
    "xray-daemon": "aws-xray-daemon",
    "aws-otel-collector": "adot",
    "adot-exporter-for-eks-on-ec2": "adot",
}

# image repository name -> component
_IMAGE_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("cluster-autoscaler", "cluster-autoscaler"),
    ("aws-load-balancer-controller", "aws-load-balancer-controller"),
    ("aws-efs-csi-driver", "aws-efs-csi-driver"),
    ("appmesh-controller", "appmesh-controller"),
    ("eks-pod-identity-agent", "eks-pod-identity-agent"),
    ("cloudwatch-agent", "cloudwatch-agent"),
    ("aws-for-fluent-bit", "aws-for-fluent-bit"),
    ("fluent-bit", "fluent-bit"),
    ("aws-xray-daemon", "aws-xray-daemon"),
    ("xray-daemon", "aws-xray-daemon"),
    ("aws-otel-collector", "adot"),
)


def component_of_image(image: str) -> str:
    """The well-known component an image is, by its repository name; "" otherwise."""
    name = parse_image(image).repository.lower()
    last = name.rsplit("/", 1)[-1]
    for needle, component in _IMAGE_COMPONENTS:
        if last == needle or (last.startswith(needle + "-") and component != "fluent-bit"):
            return component
    if last.startswith("fluentd") and "cloudwatch" in (parse_image(image).tag or "").lower():
        return "fluentd-cloudwatch"  # fluent/fluentd-kubernetes-daemonset:*-cloudwatch-*
    if "aws-efs-csi-driver" in name:
        return "aws-efs-csi-driver"
    return ""


def component_of_container(container: Container) -> str:
    if isinstance(container.image, str):
        component = component_of_image(container.image)
        if component:
            return component
    if mentions(container.argv, "cluster-autoscaler"):
        return "cluster-autoscaler"
    return ""


def release_component(release: HelmRelease) -> str:
    chart = release.chart if isinstance(release.chart, str) else ""
    return COMPONENT_CHARTS.get(chart, "")


# -- which cluster a workload belongs to -------------------------------------------------


def clusters_of(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    """Addresses of the `aws_eks_cluster`s a workload is deployed to; None: cannot tell.

    An `aws_eks_addon` belongs to the cluster its `cluster_name` names. Kubernetes and
    Helm resources belong to the cluster their provider configuration points at: the
    provider's `host`, `cluster_ca_certificate`, token or `exec` arguments referring to
    an `aws_eks_cluster` (directly or through `data.aws_eks_cluster[_auth]`), or naming
    it literally. An empty tuple means a cluster that is not in the input.
    """
    return ctx.fact(_cluster_index).get(resource.address, _cluster_default(ctx, resource))


def _cluster_default(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    return _attribute_clusters(ctx, resource)


def _cluster_index(ctx: ScanContext) -> dict[str, tuple[str, ...] | None]:
    index: dict[str, tuple[str, ...] | None] = {}
    by_provider: dict[int, tuple[str, ...] | None] = {}  # one answer per provider block
    found = workloads(ctx)
    resources = [*{o.resource.address: o.resource for o in found.objects}.values(),
                 *(r.resource for r in found.releases), *found.addons]
    for resource in resources:
        provider = _provider_of(ctx.graph, resource) if resource.type != "aws_eks_addon" else None
        if provider is not None and id(provider) in by_provider:
            index[resource.address] = by_provider[id(provider)]
            continue
        index[resource.address] = _attribute_clusters(ctx, resource)
        if provider is not None:
            by_provider[id(provider)] = index[resource.address]
    return index


def _clusters_by_name(graph: ResourceGraph) -> dict[str, list[Resource]]:
    names: dict[str, list[Resource]] = {}
    for cluster in graph.managed("aws_eks_cluster"):
        name = _text(cluster.values.get("name"))
        if isinstance(name, str):
            names.setdefault(name, []).append(cluster)
    return names


def _attribute_clusters(ctx: ScanContext, resource: Resource) -> tuple[str, ...] | None:
    graph = ctx.graph
    clusters = graph.managed("aws_eks_cluster")
    if resource.type == "aws_eks_addon":
        targets = graph.references(resource, "cluster_name")
        resolved = _resolve_cluster_targets(graph, targets)
        if resolved is not None:
            return resolved
        name = _text(resource.values.get("cluster_name"))
        if isinstance(name, str):
            return tuple(c.address for c in _clusters_by_name(graph).get(name, []))
        return None
    provider = _provider_of(graph, resource)
    if provider is None:
        return None
    references = [r for ref in _provider_references(provider)
                  for r in _resolve_reference(graph, ref)]
    resolved = _resolve_cluster_targets(graph, references)
    if resolved is not None:
        return resolved
    # literal cluster names or endpoints in the provider block (exec args, host)
    literals = {v for _, v in _leaves(getattr(provider, "values", None)) if isinstance(v, str)}
    by_name = _clusters_by_name(graph)
    matched = {c.address for name, found in by_name.items() for c in found
               if name in literals or any(_names_cluster(text, name) for text in literals)}
    for cluster in clusters:
        endpoint = cluster.values.get("endpoint")
        if isinstance(endpoint, str) and endpoint in literals:
            matched.add(cluster.address)
    if matched:
        return tuple(sorted(matched))
    return None


def _names_cluster(text: str, name: str) -> bool:
    return f"--cluster-name {name}" in text or f"--cluster-name={name}" in text


def _resolve_cluster_targets(graph: ResourceGraph, targets: list[Resource]
                             ) -> tuple[str, ...] | None:
    """Clusters among referenced resources, following `data.aws_eks_cluster[_auth]`."""
    found: set[str] = set()
    external = False
    for target in targets:
        if target.type == "aws_eks_cluster" and not target.is_data:
            found.add(target.address)
        elif target.type in ("aws_eks_cluster", "aws_eks_cluster_auth") and target.is_data:
            behind = graph.references(target, "name", "aws_eks_cluster")
            managed = [c for c in behind if not c.is_data]
            if managed:
                found.update(c.address for c in managed)
                continue
            name = _text(target.values.get("name"))
            if isinstance(name, str):
                named = _clusters_by_name(graph).get(name, [])
                found.update(c.address for c in named)
                external = external or not named
    if found:
        return tuple(sorted(found))
    if external:
        return ()
    return None


def _provider_of(graph: ResourceGraph, resource: Resource) -> Any:
    """The provider configuration a resource uses, by the keys a plan or HCL writes."""
    key = resource.provider
    candidates = [key]
    if ":" in key:
        candidates.append(key.rsplit(":", 1)[1])
    if resource.module:
        candidates.insert(0, f"{resource.module}:{key}")
    for candidate in candidates:
        provider = graph.providers.get(candidate)
        if provider is not None:
            return provider
    return None


def _provider_references(provider: Any) -> list[str]:
    """What a provider block refers to, as written (needs `ProviderConfig.references`).

    Accepts a mapping of attribute -> references or a flat collection; also collects
    the references of `Unknown` values in `ProviderConfig.values` (HCL evaluation).
    """
    references = getattr(provider, "references", None)
    out: list[str] = []
    if isinstance(references, Mapping):
        for refs in references.values():
            out.extend(str(r) for r in blocks(refs) if isinstance(r, str))
    elif isinstance(references, (list, tuple, set, frozenset)):
        out.extend(str(r) for r in references)
    for _, value in walk_values(getattr(provider, "values", None) or {}):
        plain = _plain(value)
        if isinstance(plain, Unknown):
            out.extend(plain.references)
    return sorted(set(out))


def _resolve_reference(graph: ResourceGraph, reference: str) -> list[Resource]:
    """Resources a reference names: `data.aws_eks_cluster.x.endpoint` -> the data source.

    Trailing attributes and index keys are dropped until an address matches; a module
    output (`module.eks.cluster_endpoint`) that matches nothing stands for the clusters
    inside that module.
    """
    parts = reference.split(".")
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[:end])
        found = graph.get(candidate)
        if found is not None:
            return [found]
        bare = re.sub(r"\[[^\]]*\]$", "", candidate)
        if bare != candidate:
            found = graph.get(bare)
            if found is not None:
                return [found]
        instances = [r for r in graph.resources() if r.config_address == bare
                     and r.address.startswith(bare)]
        if instances:
            return instances
    match = re.match(r"^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)+)", reference + ".")
    if match:
        prefix = re.sub(r"\[[^\]]*\]", "", match.group(1))
        return [c for c in graph.resources("aws_eks_cluster")
                if re.sub(r"\[[^\]]*\]", "", c.address).startswith(prefix)]
    return []


def _leaves(value: Any) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    for path, item in walk_values(value):
        if not isinstance(_plain(item), (dict, list)):
            yield path, _plain(item)


@dataclass(frozen=True)
class ClusterRegion:
    """The region a workload's cluster runs in, and where that came from."""

    region: str | Unknown
    source: str  # "aws_eks_cluster.main", "provider aws"


def cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    """The cluster resources a workload runs in: managed clusters, else data sources.

    Managed `aws_eks_cluster`s it belongs to (every one where that cannot be told);
    where the input has none, the `data.aws_eks_cluster` its provider reads, or the
    input's only `data.aws_eks_cluster` (a workloads-only root module reads its cluster
    that way). Empty where the cluster is not in the input at all.
    """
    cache = ctx.fact(_cluster_resource_cache)
    if resource.address not in cache:
        cache[resource.address] = _cluster_resources(ctx, resource)
    return cache[resource.address]


def _cluster_resource_cache(ctx: ScanContext) -> dict[str, list[Resource]]:
    return {}


def _cluster_resources(ctx: ScanContext, resource: Resource) -> list[Resource]:
    graph = ctx.graph
    addresses = clusters_of(ctx, resource)
    if addresses is None:
        chosen = graph.managed("aws_eks_cluster")
    else:
        chosen = [c for a in addresses if (c := graph.get(a)) is not None]
    if chosen or graph.managed("aws_eks_cluster"):
        return chosen
    data = [r for r in _provider_targets(graph, resource)
            if r.type == "aws_eks_cluster" and r.is_data]
    if not data:
        every = [r for r in graph.resources("aws_eks_cluster") if r.is_data]
        data = every if len(every) == 1 else []
    return data


def regions_of(ctx: ScanContext, resource: Resource) -> list[ClusterRegion]:
    """The region(s) of the cluster(s) a workload runs in.

    The clusters it belongs to give their regions (a data source's region is its aws
    provider's); a workload whose cluster is not in the input takes the root module's
    aws provider region; where that is unknown too, the region is `Unknown` and
    region-specific checks answer `unknown`.
    """
    graph = ctx.graph
    regions: list[ClusterRegion] = []
    for cluster in cluster_resources(ctx, resource):
        region = cluster.region
        if region is None:
            region = _provider_region(graph)
        regions.append(ClusterRegion(region, cluster.address))
    if regions:
        return regions
    return [ClusterRegion(_provider_region(graph), "provider aws")]


def _provider_targets(graph: ResourceGraph, resource: Resource) -> list[Resource]:
    provider = _provider_of(graph, resource)
    if provider is None:
        return []
    return [r for ref in _provider_references(provider) for r in _resolve_reference(graph, ref)]


def _provider_region(graph: ResourceGraph) -> str | Unknown:
    provider = graph.providers.get("aws")
    if provider is not None and provider.region is not None:
        return provider.region
    if provider is None:
        return Unknown("no aws provider region in the input (no cluster and no provider "
                       "\"aws\" block)")
    return Unknown("the aws provider sets no region (it comes from the environment)")


# -- endpoint needs (PC301) ---------------------------------------------------------------

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
STS_REGIONAL_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"

# component -> (service, reason) pairs
_COMPONENT_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "cluster-autoscaler": (("autoscaling", "Cluster Autoscaler"),
                           ("sts", "Cluster Autoscaler (IAM role for its service account)")),
    "aws-load-balancer-controller": (("elasticloadbalancing", "AWS Load Balancer Controller"),),
    "aws-efs-csi-driver": (("elasticfilesystem", "EFS CSI driver"),),
    "eks-pod-identity-agent": (("eks-auth", "EKS Pod Identity agent"),),
    "amazon-cloudwatch-observability": (
        ("logs", "CloudWatch Observability (Container Insights, logs from the nodes)"),),
    "aws-cloudwatch-metrics": (("logs", "CloudWatch agent (Container Insights)"),),
    "cloudwatch-agent": (("logs", "CloudWatch agent"),),
    "aws-for-fluent-bit": (("logs", "Fluent Bit shipping logs to CloudWatch"),),
    "fluent-bit": (("logs", "Fluent Bit shipping logs to CloudWatch"),),
    "fluentd-cloudwatch": (("logs", "Fluentd shipping logs to CloudWatch"),),
    "aws-xray-daemon": (("xray", "X-Ray daemon"),),
    "adot": (("xray", "AWS Distro for OpenTelemetry (tracing to X-Ray)"),),
}

# EKS add-on name -> component
_ADDON_COMPONENTS: dict[str, str] = {
    "eks-pod-identity-agent": "eks-pod-identity-agent",
    "amazon-cloudwatch-observability": "amazon-cloudwatch-observability",
    "aws-efs-csi-driver": "aws-efs-csi-driver",
    "adot": "adot",
}


def workload_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    """The VPC endpoints that in-cluster workloads need, with the resource and the reason.

    - `sts`: a service account annotated `eks.amazonaws.com/role-arn` (IRSA: the pod
      exchanges its token with STS), and Cluster Autoscaler;
    - `eks-auth`: the EKS Pod Identity agent (add-on, chart or DaemonSet);
    - `logs`: CloudWatch agent / `amazon-cloudwatch-observability` / Fluent Bit shipping
      to CloudWatch / Container Insights (not control-plane logging: AWS ships that);
    - `elasticloadbalancing`: the AWS Load Balancer Controller, a Service of type
      LoadBalancer, an Ingress of class `alb` (even where the controller is elsewhere);
    - `autoscaling`: Cluster Autoscaler;
    - `xray`: X-Ray daemon, AWS Distro for OpenTelemetry;
    - `elasticfilesystem`: the EFS CSI driver.

    `clusters` are the clusters each workload is deployed to (None: every cluster).
    One need per (service, resource), sorted by service and address.
    """
    return ctx.fact(_workload_endpoint_needs)


def _workload_endpoint_needs(ctx: ScanContext) -> list[EndpointNeed]:
    found = workloads(ctx)
    needs: dict[tuple[str, str], EndpointNeed] = {}

    def need(service: str, resource: Resource, reason: str) -> None:
        key = (service, resource.address)  # the first (most specific) reason wins
        if key not in needs:
            needs[key] = EndpointNeed(service, resource, reason, clusters_of(ctx, resource))

    def component_needs(component: str, resource: Resource) -> None:
        for service, reason in _COMPONENT_NEEDS.get(component, ()):
            need(service, resource, reason)

    for addon in found.addons:
        name = _text(addon.values.get("addon_name"))
        if isinstance(name, str) and name in _ADDON_COMPONENTS:
            component_needs(_ADDON_COMPONENTS[name], addon)
    for release in found.releases:
        component = release_component(release)
        if component == "fluent-bit" and not _ships_to_cloudwatch(release.values):
            component = ""
        component_needs(component, release.resource)
        if release_role_annotations(release):
            need("sts", release.resource, "IAM roles for service accounts "
                 "(eks.amazonaws.com/role-arn in the chart's values)")
        if component == "" and _release_mentions_alb_ingress(release):
            need("elasticloadbalancing", release.resource, "Ingress of class alb (chart values)")
        if component == "" and _release_load_balancer_service(release):
            need("elasticloadbalancing", release.resource,
                 "Service of type LoadBalancer (chart values)")
    for obj in found.objects:
        if obj.pod is not None:
            for container in obj.pod.containers:
                component = component_of_container(container)
                if component == "fluent-bit" and not _ships_to_cloudwatch(
                    [container.args, container.command, dict(container.env)]
                ):
                    continue
                component_needs(component, obj.resource)
        elif obj.kind == "ServiceAccount" and _has_role_annotation(obj.annotations):
            need("sts", obj.resource, f"IAM roles for service accounts ({obj.label} is "
                 f"annotated {ROLE_ARN_ANNOTATION})")
        elif obj.kind == "Service" and obj.service_type == "LoadBalancer":
            need("elasticloadbalancing", obj.resource,
                 f"{obj.label} of type LoadBalancer")
        elif obj.kind == "Ingress" and is_alb_ingress(obj, found):
            need("elasticloadbalancing", obj.resource, f"{obj.label} of class alb")
        elif obj.kind == "OpenTelemetryCollector":
            config = _leaves(obj.raw.get("spec"))
            text = " ".join(v for _, v in config if isinstance(v, str)).lower()
            if "awsxray" in text:
                need("xray", obj.resource, f"{obj.label} exporting traces to X-Ray (ADOT)")
            if "awscloudwatchlogs" in text or "awsemf" in text:
                need("logs", obj.resource, f"{obj.label} exporting to CloudWatch (ADOT)")
    return sorted(needs.values(), key=lambda n: (n.service, n.resource.address, n.reason))


def _has_role_annotation(annotations: Mapping[str, Any]) -> bool:
    value = annotations.get(ROLE_ARN_ANNOTATION)
    return value is not None and _plain(value) != ""


def release_role_annotations(release: HelmRelease) -> list[str]:
    """Value paths of a release that annotate a service account with an IAM role."""
    found = []
    for path, value in walk_values(release.values):
        plain = _plain(value)
        if (path.endswith("annotations") or path.endswith("Annotations")) and isinstance(
            plain, dict
        ) and _has_role_annotation(plain):
            found.append(f"{path}.{ROLE_ARN_ANNOTATION}")
    return found


def _ships_to_cloudwatch(value: Any) -> bool:
    """Whether a Fluent Bit configuration mentions a CloudWatch output."""
    return any(isinstance(leaf, str) and "cloudwatch" in leaf.lower()
               for _, leaf in _leaves(value))


def _release_mentions_alb_ingress(release: HelmRelease) -> bool:
    """A chart whose values create an Ingress of class alb (`ingress.className: alb`)."""
    for path, value in walk_values(release.values):
        plain = _plain(value)
        if not isinstance(plain, dict) or not path.lower().endswith("ingress"):
            continue
        if truthy(plain.get("enabled")) is False:
            continue
        cls = _or(_plain(plain.get("className")), _plain(plain.get("ingressClassName")))
        annotations = _plain(plain.get("annotations"))
        if cls == "alb" or (isinstance(annotations, dict) and _plain(
            annotations.get("kubernetes.io/ingress.class")
        ) == "alb"):
            return True
    return False


def _release_load_balancer_service(release: HelmRelease) -> bool:
    """A chart whose values ask for a Service of type LoadBalancer (`service.type`)."""
    for path, value in walk_values(release.values):
        plain = _plain(value)
        if isinstance(plain, dict) and path.lower().endswith("service") and (
            _plain(plain.get("type")) == "LoadBalancer"
        ) and truthy(plain.get("enabled")) is not False:
            return True
    return False


ALB_CONTROLLER = "ingress.k8s.aws/alb"


def is_alb_ingress(obj: KubeObject, found: Workloads) -> bool:
    """Whether the AWS Load Balancer Controller serves an Ingress.

    It does for class `alb`, for an IngressClass whose controller is
    `ingress.k8s.aws/alb`, and for an Ingress without class that carries
    `alb.ingress.kubernetes.io/` annotations.
    """
    cls = obj.ingress_class
    if cls == "alb":
        return True
    if isinstance(cls, str):
        return any(
            c.name == cls and c.controller == ALB_CONTROLLER
            for c in found.of_kind("IngressClass")
        )
    if cls is None:
        return any(str(k).startswith("alb.ingress.kubernetes.io/") for k in obj.annotations)
    return False


# -- registries -----------------------------------------------------------------------------

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


@dataclass(frozen=True)
class RegistryVerdict:
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
