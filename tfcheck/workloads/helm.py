"""Helm releases: the chart a `helm_release` installs and the values it is given.

`values` documents are merged in order, then `set`, `set_list` and `set_sensitive`
applied the way Helm does (later wins). What cannot be read is kept as a problem so a
policy answers `unknown` rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from tfcheck.model import Resource, Sensitive, Unknown

from .safe_yaml import YamlRefused, load_partial_documents, load_yaml_documents
from .values import as_text, blocks, or_default, plain


class HelmRelease(msgspec.Struct, frozen=True):
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
    values: Mapping[str, Any] = msgspec.field(default_factory=dict)
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
        return repr(plain(value))


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


def read_helm_release(resource: Resource) -> HelmRelease:
    values = resource.values
    chart_ref = as_text(values.get("chart"))
    if chart_ref is None:
        chart_ref = Unknown("the chart is not set")
    chart = chart_name(chart_ref) if isinstance(chart_ref, str) else chart_ref
    merged: dict[str, Any] = {}
    problems: list[str] = []
    raw_list = values.get("values")
    values_sensitive = isinstance(raw_list, Sensitive) or (
        isinstance(raw_list, list) and any(isinstance(v, Sensitive) for v in raw_list))
    raw_values = plain(values.get("values"))
    if isinstance(raw_values, Unknown):
        problems.append(f"values is not known ({raw_values.reason})")
    else:
        for index, document in enumerate(blocks(raw_values)):
            if not isinstance(document, (str, Unknown)):
                continue
            try:
                parsed = (load_yaml_documents(document) if isinstance(document, str)
                          else load_partial_documents(document))
            except YamlRefused as error:
                problems.append(f"values[{index}] could not be read: {error}")
                continue
            if parsed is None or (parsed and isinstance(parsed[0], Unknown)):
                # no partial text, or a placeholder standing for the whole document
                assert isinstance(document, Unknown)
                problems.append(f"values[{index}] is not known ({document.reason})")
                continue
            for part in parsed[:1]:  # helm reads the first document of a values file
                if isinstance(part, dict):
                    _deep_merge(merged, part)
    sensitive: set[str] = set()
    for block_name in ("set", "set_list", "set_sensitive"):
        raw_sets = plain(values.get(block_name))
        if isinstance(raw_sets, Unknown):
            problems.append(f"{block_name} is not known ({raw_sets.reason})")
            continue
        for index, item in enumerate(blocks(raw_sets)):
            if not isinstance(item, dict):
                continue
            name = as_text(item.get("name"))
            if not isinstance(name, str):
                problems.append(f"{block_name}[{index}].name is not known")
                continue
            raw = item.get("value")
            if block_name == "set_list":
                value: Any = plain(raw)
            else:
                value = _set_value(raw, as_text(item.get("type")))
            if block_name == "set_sensitive" or isinstance(raw, Sensitive):
                sensitive.add(name)
            helm_set(merged, name, value)
    namespace = or_default(as_text(values.get("namespace")), "default")
    return HelmRelease(
        resource=resource,
        chart=chart,
        chart_ref=chart_ref,
        repository=as_text(values.get("repository")),
        version=as_text(values.get("version")),
        namespace=namespace,
        values=merged,
        sensitive=frozenset(sensitive),
        problems=tuple(problems),
        values_sensitive=values_sensitive,
    )


def _set_value(raw: Any, kind: str | Unknown | None) -> Any:
    """A `set` value as Helm types it: `true`/`false`/integers unless `type = "string"`."""
    value = plain(raw)
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
        node = plain(node)
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
    return plain(node)
