"""Safe YAML for manifests and Helm values: untrusted text, parsed with limits.

Parsed with `yaml.safe_load` semantics (no tags that construct Python objects),
refusing documents larger than `MAX_YAML_BYTES`, with more than `MAX_YAML_ALIASES`
aliases, or expanding to more than `MAX_YAML_NODES` nodes (alias bombs). Nothing is
executed. PyYAML is imported on the first parse: the policy pack imports this module,
and a plan without workloads should not pay for it (issue 10).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from tfcheck.model import Unknown

MAX_YAML_BYTES = 1_000_000  # one values file / manifest; real ones are a few KB
MAX_YAML_ALIASES = 100  # Helm values and manifests rarely use anchors at all
MAX_YAML_NODES = 200_000  # nodes after alias expansion: stops "billion laughs"
MAX_YAML_DOCUMENTS = 500  # documents in one multi-document string


class YamlRefused(ValueError):
    """A YAML text that is too large, malformed, or an alias bomb; the message says which."""


@functools.cache
def _limited_loader() -> Any:
    """`yaml.SafeLoader`, counting aliases while composing to refuse alias bombs early."""
    import yaml

    class _LimitedLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.alias_count = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.alias_count += 1
                if self.alias_count > MAX_YAML_ALIASES:
                    raise YamlRefused(f"more than {MAX_YAML_ALIASES} YAML aliases")
            return super().compose_node(parent, index)

    return _LimitedLoader


def load_yaml_documents(text: str) -> list[Any]:
    """Every document of a YAML (or JSON) string, parsed safely; empty documents dropped.

    Raises `YamlRefused` with a short reason for text over the size limit, syntax
    errors, alias bombs and recursive structures. Never executes anything: only the
    safe loader's standard tags are constructed.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_YAML_BYTES:
        raise YamlRefused(f"YAML text larger than {MAX_YAML_BYTES} bytes")
    import yaml

    loader = _limited_loader()(text)
    documents: list[Any] = []
    try:
        while loader.check_data():
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


# -- documents known except for some leaves ------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{(.*?)\}")


def load_partial_documents(value: Unknown) -> list[Any] | None:
    """The documents of an `Unknown` whose text is known but for `${...}` placeholders.

    The HCL evaluator renders templates and `yamlencode`/`jsonencode` around values it
    cannot compute, writing each such leaf as a `${<expression>}` string
    (`Unknown.partial`). Unknown is a property of a leaf, not of a document: every
    string leaf holding a placeholder becomes an `Unknown` naming its expressions, and
    the rest of the document answers as usual. None where there is no partial text;
    `YamlRefused` where the partial text is not YAML (a placeholder standing for a
    whole block, say).
    """
    if value.partial is None:
        return None
    documents = load_yaml_documents(value.partial)
    placeholders = {m for text in _strings(documents) for m in _PLACEHOLDER.findall(text)}
    return [_unknown_leaves(document, value, len(placeholders) == 1) for document in documents]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _unknown_leaves(value: Any, source: Unknown, single: bool) -> Any:
    """A copy of a parsed document with placeholder strings replaced by `Unknown`s."""
    if isinstance(value, str) and "${" in value:
        expressions = _PLACEHOLDER.findall(value) or [value]
        if single:  # the one unknown of the document: its reason says exactly why
            return Unknown(source.reason, source.references)
        references = tuple(r for r in source.references
                           if any(r in expression for expression in expressions))
        return Unknown(f"{', '.join(expressions)} is not known", references)
    if isinstance(value, dict):
        return {key: _unknown_leaves(item, source, single) for key, item in value.items()}
    if isinstance(value, list):
        return [_unknown_leaves(item, source, single) for item in value]
    return value
