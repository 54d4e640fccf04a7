"""Safe YAML for manifests and Helm values: untrusted text, parsed with limits.

Parsed with `yaml.safe_load` semantics (no tags that construct Python objects),
refusing documents larger than `MAX_YAML_BYTES`, with more than `MAX_YAML_ALIASES`
aliases, or expanding to more than `MAX_YAML_NODES` nodes (alias bombs). Nothing is
executed. PyYAML is imported on the first parse that needs it: the policy pack imports
this module, and a plan without workloads should not pay for it; plain block YAML (a
NodeConfig in user data) is read without it, with the same result (issue 10).
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
    plain = plain_block_documents(text)
    if plain is not None:
        for document in plain:
            _check_expanded_size(document)
        return plain
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


# -- plain block YAML, read without PyYAML ------------------------------------------
#
# PyYAML's pure-Python scanner costs ~0.3 ms for a ten-line NodeConfig, paid for every
# launch template (and importing PyYAML costs more). Text that is only block mappings
# and block sequences of short plain words (what NodeConfigs and most values files are)
# is read here instead, with exactly PyYAML's result; anything else, a comment, a quote,
# a flow collection, an anchor, a word PyYAML would read as a bool, null, number or date,
# goes to PyYAML. tests/test_safe_yaml_plain.py compares the two on generated texts.

# a line: indentation, then `key:`, `key: word` or `- word`; a word has no space, quote,
# colon, `#` or flow/anchor/tag/alias/block-scalar indicator, is not `-` or `---...`, and
# starts with none of `=`, `<`, `~`, `+`, `@` (indicators, or what PyYAML may resolve)
_WORD = r"(?!---)(?:[A-Za-z0-9_./]|-(?=[A-Za-z0-9_./=,@+-]))[A-Za-z0-9_./=,@+-]{0,999}"
_PLAIN_LINE = re.compile(
    rf"(?P<indent> *)(?:- (?P<item>{_WORD})|(?P<key>[A-Za-z_][A-Za-z0-9_./-]{{0,999}}):"
    rf"(?: (?P<value>{_WORD}))?)")
_NOT_PLAIN_TEXT = re.compile(r"[^\x20-\x7e\n]|#")
# the words PyYAML's bool and null resolvers match (every other word starting with a
# letter is a string to it)
_BOOL_OR_NULL = frozenset({
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL"})
# every character PyYAML's int, float and timestamp resolvers can match: a word
# starting like a number with another character in it is a string to PyYAML
_NUMBER_OR_DATE_CHARACTERS = frozenset("+-.0123456789_:eEbxabcdefABCDEFinfINFaNtTZ")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_PLAIN_DEPTH = 32


class _NotPlain(Exception):
    """The text is not plain block YAML as defined above: PyYAML reads it."""


def plain_block_documents(text: str) -> list[Any] | None:
    """The one document of a plain block YAML text, as PyYAML reads it; None otherwise."""
    if _NOT_PLAIN_TEXT.search(text):
        return None
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and lines[0] == "---":
        lines = lines[1:]
    matched = [_PLAIN_LINE.fullmatch(line) for line in lines]
    if not matched or None in matched:
        return None
    reader = _PlainBlock([m for m in matched if m is not None])
    try:
        document = reader.document()
    except _NotPlain:
        return None
    return [document]


class _PlainBlock:
    """Reads matched lines into mappings and sequences, as PyYAML's block context does."""

    def __init__(self, lines: list[re.Match[str]]) -> None:
        self.lines = lines
        self.at = 0

    def document(self) -> dict[str, Any]:
        first = self.lines[0]
        if first["indent"] or first["key"] is None:
            raise _NotPlain
        found = self.mapping(0, 0)
        if self.at != len(self.lines):
            raise _NotPlain
        return found

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        if depth > _MAX_PLAIN_DEPTH:
            raise _NotPlain  # PyYAML decides how deep is too deep
        found: dict[str, Any] = {}
        while self.at < len(self.lines):
            line = self.lines[self.at]
            column = len(line["indent"])
            if column < indent:
                break
            key = _plain_scalar(line["key"]) if column == indent else None
            if not isinstance(key, str) or key in found:
                raise _NotPlain
            self.at += 1
            value = line["value"]
            found[key] = (self.nested(indent, depth) if value is None
                          else _plain_scalar(value))
        return found

    def nested(self, indent: int, depth: int) -> Any:
        """The value of `key:` at `indent`: a block below it, an indentless list, or null."""
        if self.at == len(self.lines):
            return None
        line = self.lines[self.at]
        column = len(line["indent"])
        if line["item"] is not None and column >= indent:
            items = []
            while (self.at < len(self.lines) and self.lines[self.at]["item"] is not None
                   and len(self.lines[self.at]["indent"]) == column):
                items.append(_plain_scalar(self.lines[self.at]["item"]))
                self.at += 1
            return items
        if column > indent:
            return self.mapping(column, depth + 1)
        return None


def _plain_scalar(word: str | None) -> str | int:
    """A plain word as PyYAML's safe loader constructs it: a string or a decimal int."""
    if word is None or word in _BOOL_OR_NULL:
        raise _NotPlain
    if _DECIMAL.fullmatch(word):
        return int(word)
    if word[0] in "+-.0123456789" and _NUMBER_OR_DATE_CHARACTERS.issuperset(word):
        raise _NotPlain  # may be an int, float or timestamp to PyYAML
    return word


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
