"""Kubernetes objects, whatever Terraform shape wrote them.

The kubernetes provider's `kubernetes_*` resources spell the API in snake_case blocks
(`spec.template.spec.container.image`); `kubernetes_manifest` (an object),
`kubectl_manifest` and `kustomization_resource` (YAML or JSON strings, possibly many
documents) use the API's camelCase. Both become `KubeObject`s with `PodSpec`s and
`Container`s, so that a policy never parses either spelling itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from msgspec.structs import replace

from tfcheck.model import Resource, Sensitive, Unknown

from .safe_yaml import YamlRefused, load_partial_documents, load_yaml_documents
from .values import as_mapping, as_text, block, blocks, dig, or_default, plain


class Container(msgspec.Struct, frozen=True):
    """One container of a pod: what it runs and with which arguments and environment."""

    name: str
    image: str | Unknown | None
    command: tuple[str | Unknown, ...] = ()
    args: tuple[str | Unknown, ...] = ()
    env: Mapping[str, Any] = msgspec.field(default_factory=dict)  # name -> value (None: valueFrom)
    init: bool = False
    path: str = ""  # where it is written, for messages: "spec.template.spec.container[0]"
    sensitive_image: bool = False

    @property
    def argv(self) -> tuple[str | Unknown, ...]:
        return (*self.command, *self.args)

    def describe(self) -> str:
        kind = "init container" if self.init else "container"
        return f"{kind} {self.name!r}" if self.name else kind


class PodSpec(msgspec.Struct, frozen=True):
    """A pod template: its containers and the service account its pods run as."""

    containers: tuple[Container, ...]
    service_account: str | Unknown | None  # None: the namespace's "default" account
    annotations: Mapping[str, Any] = msgspec.field(default_factory=dict)
    path: str = ""


class KubeObject(msgspec.Struct, frozen=True):
    """One Kubernetes object a resource creates, whatever Terraform shape wrote it.

    `kind` is the Kubernetes kind (`Deployment`, `ServiceAccount`, `Ingress`, ...).
    Kind-specific facts are normalised into the optional fields below so that policies
    do not parse snake_case and camelCase themselves.
    """

    resource: Resource
    kind: str
    name: str | Unknown | None
    namespace: str | Unknown
    annotations: Mapping[str, Any] = msgspec.field(default_factory=dict)
    labels: Mapping[str, Any] = msgspec.field(default_factory=dict)
    pod: PodSpec | None = None
    service_type: str | Unknown | None = None  # Service
    ingress_class: str | Unknown | None = None  # Ingress (spec class or annotation)
    tls_hosts: tuple[str | Unknown, ...] = ()  # Ingress spec.tls[].hosts
    rule_hosts: tuple[str | Unknown, ...] = ()  # Ingress spec.rules[].host
    controller: str | Unknown | None = None  # IngressClass spec.controller
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)  # ConfigMap data
    document: int | None = None  # index of the document in a multi-document manifest
    annotations_unknown: Unknown | None = None  # the whole annotations map is unknown
    raw: Mapping[str, Any] = msgspec.field(default_factory=dict)  # the API object (manifests only)
    sensitive: bool = False  # read from a sensitive value: never print what it holds

    @property
    def label(self) -> str:
        """`Deployment kube-system/cluster-autoscaler`, for messages."""
        name = self.name if isinstance(self.name, str) else "?"
        namespace = self.namespace if isinstance(self.namespace, str) else "?"
        doc = f" (document {self.document + 1})" if self.document is not None else ""
        return f"{self.kind} {namespace}/{name}{doc}"


TF_POD_RESOURCES: dict[str, tuple[str, str]] = {}
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
    TF_POD_RESOURCES[_base] = (_kind, _path)
    TF_POD_RESOURCES[_base + "_v1"] = (_kind, _path)
del TF_POD_RESOURCES["kubernetes_daemonset_v1"]  # the v1 name is kubernetes_daemon_set_v1

TF_SIMPLE_KINDS: dict[str, str] = {}
for _base, _kind in (
    ("kubernetes_service_account", "ServiceAccount"),
    ("kubernetes_service", "Service"),
    ("kubernetes_ingress", "Ingress"),
    ("kubernetes_ingress_class", "IngressClass"),
    ("kubernetes_config_map", "ConfigMap"),
):
    TF_SIMPLE_KINDS[_base] = _kind
    TF_SIMPLE_KINDS[_base + "_v1"] = _kind
TF_SIMPLE_KINDS["kubernetes_config_map_v1_data"] = "ConfigMap"


def _tf_metadata(resource: Resource) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    metadata = block(resource.values.get("metadata"))
    if isinstance(metadata, Unknown):
        return metadata, "default", {}, {}
    metadata = metadata if isinstance(metadata, dict) else {}
    name = as_text(metadata.get("name"))
    if name is None and metadata.get("generate_name") is not None:
        name = as_text(metadata.get("generate_name"))
    namespace = or_default(as_text(metadata.get("namespace")), "default")
    annotations = as_mapping(metadata.get("annotations"))
    return name, namespace, annotations, as_mapping(metadata.get("labels"))


def _unknown_annotations(metadata: Any) -> Unknown | None:
    """The `Unknown` standing for a whole annotations map, if it is one."""
    metadata = block(metadata)
    if isinstance(metadata, Unknown):
        return metadata
    if isinstance(metadata, dict):
        value = plain(metadata.get("annotations"))
        if isinstance(value, Unknown):
            return value
    return None


class _Spelling(msgspec.Struct, frozen=True):
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


def tf_pod_object(resource: Resource) -> KubeObject:
    kind, path = TF_POD_RESOURCES[resource.type]
    name, namespace, annotations, labels = _tf_metadata(resource)
    template_annotations = annotations if path == "spec" else as_mapping(
        dig(resource.values, path.rsplit(".", 1)[0] + ".metadata.annotations"))
    pod = _pod_spec(dig(resource.values, path), path, template_annotations, TF_SPELLING)
    return KubeObject(resource, kind, name, namespace, annotations, labels, pod=pod)


def _pod_spec(spec: Any, path: str, annotations: Mapping[str, Any],
              spelling: _Spelling) -> PodSpec:
    """A pod spec in either spelling; an unknown spec is one container of unknown image."""
    spec = block(spec)
    if isinstance(spec, Unknown):
        unknown = Container("", Unknown(f"the pod spec is not known ({spec.reason})"),
                            path=path)
        return PodSpec((unknown,), spec, path=path)
    spec = spec if isinstance(spec, dict) else {}
    containers: list[Container] = []
    for key, init in ((spelling.init_containers, True), (spelling.containers, False)):
        raw = plain(spec.get(key))
        if isinstance(raw, Unknown):
            containers.append(Container("", raw, init=init, path=f"{path}.{key}"))
            continue
        for index, item in enumerate(blocks(raw)):
            containers.append(_container(item, init, f"{path}.{key}[{index}]", spelling))
    account = as_text(spec.get(spelling.service_account))
    if account is None:
        account = as_text(spec.get(spelling.service_account_legacy))
    return PodSpec(tuple(containers), or_default(account, None), dict(annotations), path)


def _container(item: Any, init: bool, path: str, spelling: _Spelling) -> Container:
    if isinstance(item, Unknown):
        return Container("", item, init=init, path=path)
    item = item if isinstance(item, dict) else {}
    env: dict[str, Any] = {}
    for entry in blocks(item.get("env")):
        if isinstance(entry, dict):
            name = as_text(entry.get("name"))
            if isinstance(name, str):
                value = entry.get("value")
                from_source = plain(entry.get(spelling.value_from))
                env[name] = None if value is None and from_source not in (None, [], {}) else (
                    as_text(value))
    name = as_text(item.get("name"))
    return Container(
        name=name if isinstance(name, str) else "",
        image=as_text(item.get("image")),
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
    cls = as_text(spec.get(spelling.ingress_class))
    if cls is None:
        cls = as_text(annotations.get("kubernetes.io/ingress.class"))
    tls_hosts: list[str | Unknown] = []
    for tls in blocks(spec.get("tls")):
        if isinstance(tls, Unknown):
            tls_hosts.append(tls)
        elif isinstance(tls, dict):
            tls_hosts.extend(_strings(tls.get("hosts")))
    rule_hosts: list[str | Unknown] = []
    for rule in blocks(spec.get(spelling.rules)):
        if isinstance(rule, dict) and rule.get("host") is not None:
            host = as_text(rule.get("host"))
            if host is not None:
                rule_hosts.append(host)
    return {"ingress_class": cls, "tls_hosts": tuple(tls_hosts),
            "rule_hosts": tuple(rule_hosts)}


def _strings(value: Any) -> tuple[str | Unknown, ...]:
    value = plain(value)
    if isinstance(value, Unknown):
        return (value,)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        return ()
    out: list[str | Unknown] = []
    for item in value:
        text = as_text(item)
        if text is not None:
            out.append(text)
    return tuple(out)


def tf_simple_object(resource: Resource) -> KubeObject:
    kind = TF_SIMPLE_KINDS[resource.type]
    name, namespace, annotations, labels = _tf_metadata(resource)
    spec = block(resource.values.get("spec"))
    spec = spec if isinstance(spec, dict) else {}
    if kind == "Service":
        service_type = or_default(as_text(spec.get("type")), "ClusterIP")
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          service_type=service_type)
    if kind == "Ingress":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          **_ingress_fields(spec, annotations, TF_SPELLING))
    if kind == "IngressClass":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          controller=as_text(spec.get("controller")))
    if kind == "ConfigMap":
        return KubeObject(resource, kind, name, namespace, annotations, labels,
                          data=as_mapping(resource.values.get("data")))
    return KubeObject(resource, kind, name, namespace, annotations, labels,
                      annotations_unknown=_unknown_annotations(resource.values.get("metadata")))


# -- manifests (camelCase Kubernetes API objects) -------------------------------------

MANIFEST_RESOURCES = ("kubernetes_manifest", "kubectl_manifest", "kustomization_resource")

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


def manifest_objects(resource: Resource) -> tuple[list[KubeObject], tuple[str, ...]]:
    """The objects of a manifest resource, and why some could not be read."""
    if resource.type == "kubernetes_manifest":
        sensitive = isinstance(resource.values.get("manifest"), Sensitive)
        manifest = plain(resource.values.get("manifest"))
        if isinstance(manifest, (str, Unknown)):  # jsonencode() output kept as text
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
        body = plain(raw_body)
        if not isinstance(body, (str, Unknown)):
            return [], ()
        documents, why = _parse_documents(body, attribute)
    override_ns = as_text(resource.values.get("override_namespace"))
    objects: list[KubeObject] = []
    multiple = len(documents) > 1
    problems = list(why)
    for index, document in enumerate(documents):
        for obj in _expand_lists(document):
            kind = plain(obj.get("kind")) if isinstance(obj, dict) else None
            if isinstance(obj, Unknown) or isinstance(kind, Unknown):
                unknown = obj if isinstance(obj, Unknown) else kind
                assert isinstance(unknown, Unknown)
                which = f"document {index + 1}" if multiple else "the object"
                problems.append(f"the kind of {which} is not known ({unknown.reason})")
                continue
            found = _api_object(resource, obj, index if multiple else None)
            if found is not None:
                if override_ns is not None and override_ns != "":
                    found = _replace_namespace(found, override_ns)
                if sensitive:
                    found = replace(found, sensitive=True)
                objects.append(found)
    return objects, tuple(problems)


def _parse_documents(text: str | Unknown, attribute: str) -> tuple[list[Any], tuple[str, ...]]:
    """The documents of a manifest; a partly known one is read leaf by leaf."""
    if isinstance(text, Unknown):
        try:
            documents = load_partial_documents(text)
        except YamlRefused:
            documents = None  # a placeholder that stands for a block, not a leaf
        if documents is None:
            return [], (f"{attribute} is not known ({text.reason})",)
        return documents, ()
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
    kind = as_text(obj.get("kind"))
    if not isinstance(kind, str):
        return None
    metadata = plain(obj.get("metadata"))
    metadata = metadata if isinstance(metadata, dict) else {}
    name = as_text(metadata.get("name"))
    if name is None:
        name = as_text(metadata.get("generateName"))
    namespace = or_default(as_text(metadata.get("namespace")), "default")
    annotations = as_mapping(metadata.get("annotations"))
    labels = as_mapping(metadata.get("labels"))
    spec = plain(obj.get("spec"))
    spec = spec if isinstance(spec, dict) else {}
    common: dict[str, Any] = {"annotations": annotations, "labels": labels, "document": document,
                              "annotations_unknown": _unknown_annotations(metadata), "raw": obj}
    if kind in _API_POD_PATHS:
        path = _API_POD_PATHS[kind]
        template_annotations = annotations if path == "spec" else as_mapping(
            dig(obj, path.rsplit(".", 1)[0] + ".metadata.annotations"))
        pod = _pod_spec(dig(obj, path), path, template_annotations, API_SPELLING)
        return KubeObject(resource, kind, name, namespace, pod=pod, **common)
    if kind == "Service":
        service_type = or_default(as_text(spec.get("type")), "ClusterIP")
        return KubeObject(resource, kind, name, namespace, service_type=service_type, **common)
    if kind == "Ingress":
        return KubeObject(resource, kind, name, namespace,
                          **_ingress_fields(spec, annotations, API_SPELLING), **common)
    if kind == "IngressClass":
        return KubeObject(resource, kind, name, namespace,
                          controller=as_text(spec.get("controller")), **common)
    if kind == "ConfigMap":
        return KubeObject(resource, kind, name, namespace, data=as_mapping(obj.get("data")),
                          **common)
    return KubeObject(resource, kind, name, namespace, **common)
