"""Plain block YAML is read without PyYAML, with exactly PyYAML's result (issue 10).

`tfcheck.workloads.safe_yaml.plain_block_documents` claims a text only where PyYAML's
safe loader would give the same documents (same types: `True` is not `1`) and would not
refuse it; everything else goes to PyYAML. Generated texts, valid and not, compare the
two; the resolver tables the fast path relies on are checked against PyYAML's own.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfcheck.workloads import safe_yaml
from tfcheck.workloads.safe_yaml import load_yaml_documents, plain_block_documents

NODE_CONFIG = """---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: prod-eu
    apiServerEndpoint: https.example
    cidr: 10.100.0.0/16
  kubelet:
    config:
      maxPods: 58
      shutdownGracePeriod: 30s
    flags:
      - --node-labels=node.kubernetes.io/lifecycle=managed,cluster=e00001
"""


def typed(value: Any) -> Any:
    """The value with every leaf's type spelled out (`True == 1` in Python)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, value)


def pyyaml(text: str) -> Any:
    return [d for d in yaml.load_all(text, Loader=yaml.SafeLoader) if d is not None]


def assert_same_as_pyyaml(text: str) -> bool:
    """Whether the fast path claimed `text`; where it did, PyYAML agrees exactly."""
    plain = plain_block_documents(text)
    if plain is None:
        return False
    assert typed(plain) == typed(pyyaml(text)), text
    return True


def test_a_node_config_is_read_without_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = pyyaml(NODE_CONFIG)

    def refuse() -> None:
        raise AssertionError("PyYAML was asked")

    monkeypatch.setattr(safe_yaml, "_limited_loader", refuse)
    assert typed(load_yaml_documents(NODE_CONFIG)) == typed(expected)


@pytest.mark.parametrize("text", [
    "a: yes\n", "a: No\n", "a: on\n", "a: ~\n", "a: null\n", "a: 0x1F\n", "a: 1.2.3x\n",
    "a: 017\n", "a: 1_000\n", "a: 1.5\n", "a: .inf\n", "a: -1\n", "a: +1\n",
    "a: 2001-12-14\n", "a: 1e5\n", "true: a\n", "a: b # c\n", "a: 'b'\n", "a: &x b\n",
    "a: [b]\n", "a: b\n  c: d\n", "a: b\n- c\n", "- a\n", "a:\n  - b\n  c: d\n",
    "a: b\na: c\n", "a: b\n---\nc: d\n", "a:  b\n", "a: b \n", "a:\tb\n", "<<: a\n",
    "a: =\n", "a: -\n", "a: ---\n", "a: b:c\n", "a:b\n", "a: \u00e9\n", "a: b\r\n",
])
def test_what_pyyaml_reads_differently_or_refuses_is_left_to_it(text: str) -> None:
    assert plain_block_documents(text) is None


@pytest.mark.parametrize("text", [
    NODE_CONFIG, "a: b\n", "a:\n", "a:\n- b\n- c\nd: e\n", "a:\n    - b\nc:\n  d: 0\n",
    "a: 30s\nb: 0\nc: 58\nd: n\ne: y\nf: .q\ng: -q\nh: _\ni: 0o17\n", "\n\na: b\n\n  \n",
    "a:\n  b:\n    c: d\n  e: f\ng: h\n", "key.with/dots: v=1,w=2\n",
])
def test_plain_block_texts_are_read_as_pyyaml_reads_them(text: str) -> None:
    assert assert_same_as_pyyaml(text)


# -- generated texts ---------------------------------------------------------------------

TRICKY_WORDS = ["yes", "no", "on", "Off", "TRUE", "y", "n", "null", "Null", "~", "0",
                "01", "0x1F", "0b11", "1_0", "1e5", "1.5", ".5", ".inf", ".nan", "-1",
                "+1", "-", "--", "--x", "---", "-.5", "2001-01-01", "12:30", "1:2",
                "a:b", "a,b", "=", "<<", "@a", "a@b", "_", "/x", ".x", "x.", "30s",
                "e", "E", "f", "abc", "A-B", "x=1", "5x", "0o7", "1.2.3x"]
PLAIN_CHARACTERS = string.ascii_letters + string.digits + "_./=,@+-"
WORD_CHARACTERS = PLAIN_CHARACTERS + ":~<#'\"[]{}!&*|>% "


def words() -> st.SearchStrategy[str]:
    """Mostly words the fast path may claim, some it must not."""
    return st.one_of(st.sampled_from(TRICKY_WORDS),
                     st.text(PLAIN_CHARACTERS, min_size=1, max_size=6),
                     st.text(string.ascii_lowercase, min_size=1, max_size=6),
                     st.text(WORD_CHARACTERS, min_size=1, max_size=6))


def block(value: Any, indent: int, step: int, indentless: bool) -> list[str]:
    """`value` (a dict) as block YAML lines."""
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{' ' * indent}{key}:")
            lines.extend(block(item, indent + step, step, indentless))
        elif isinstance(item, list):
            lines.append(f"{' ' * indent}{key}:")
            column = indent if indentless else indent + step
            lines.extend(f"{' ' * column}- {word}" for word in item)
        elif item is None:
            lines.append(f"{' ' * indent}{key}:")
        else:
            lines.append(f"{' ' * indent}{key}: {item}")
    return lines


documents = st.recursive(
    st.dictionaries(words(), st.one_of(words(), st.none(), st.lists(words(), max_size=3)),
                    min_size=1, max_size=4),
    lambda children: st.dictionaries(words(), children, min_size=1, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.integers(1, 4), st.booleans(), st.booleans())
def test_generated_block_documents(document: dict[str, Any], step: int, indentless: bool,
                                   marker: bool) -> None:
    lines = block(document, 0, step, indentless)
    text = "\n".join((["---"] if marker else []) + lines) + "\n"
    assert_same_as_pyyaml(text)


plain_keys = st.text(string.ascii_letters + "_", min_size=1, max_size=5)
plain_values = st.one_of(st.text(PLAIN_CHARACTERS, min_size=1, max_size=8),
                         st.integers(0, 10**20).map(str), st.sampled_from(TRICKY_WORDS))
plain_documents = st.recursive(
    st.dictionaries(plain_keys, st.one_of(plain_values, st.none(),
                                          st.lists(plain_values, max_size=3)),
                    min_size=1, max_size=4),
    lambda children: st.dictionaries(plain_keys, children, min_size=1, max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_documents, st.integers(1, 4), st.booleans())
def test_generated_plain_documents(document: dict[str, Any], step: int,
                                   indentless: bool) -> None:
    assert_same_as_pyyaml("\n".join(block(document, 0, step, indentless)) + "\n")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 0, 1, 2, 2, 4]),
                          st.sampled_from(["key", "keyword", "item", "blank", "other"]),
                          words(), words()), min_size=1, max_size=8))
def test_generated_line_soup(lines: list[tuple[int, str, str, str]]) -> None:
    rendered = []
    for indent, kind, key, word in lines:
        pad = " " * indent
        rendered.append({"key": f"{pad}{key}:", "keyword": f"{pad}{key}: {word}",
                         "item": f"{pad}- {word}", "blank": pad,
                         "other": f"{pad}{word}"}[kind])
    text = "\n".join(rendered) + "\n"
    try:
        pyyaml(text)
    except yaml.YAMLError:
        assert plain_block_documents(text) is None, text
        return
    assert_same_as_pyyaml(text)


# -- the resolver tables the fast path relies on -----------------------------------------


def resolvers(first: str) -> list[tuple[str, Any]]:
    return list(yaml.SafeLoader.yaml_implicit_resolvers.get(first, []))


def test_words_starting_with_a_letter_resolve_only_to_bool_or_null() -> None:
    for first in string.ascii_letters + "_":
        tags = {tag.rsplit(":", 1)[-1] for tag, _ in resolvers(first)}
        assert tags <= {"bool", "null"}, first
    for word in safe_yaml._BOOL_OR_NULL:
        assert any(regex.fullmatch(word) for _, regex in resolvers(word[0]))


@given(st.text(string.ascii_letters + string.digits + "_./=,@+-", min_size=1, max_size=8))
def test_other_words_are_strings_to_pyyaml(word: str) -> None:
    matched = [tag for tag, regex in resolvers(word[0]) if regex.fullmatch(word)]
    if word[0] in string.ascii_letters + "_" and word not in safe_yaml._BOOL_OR_NULL:
        assert not matched
    if word[0] in "+-.0123456789" and not safe_yaml._NUMBER_OR_DATE_CHARACTERS.issuperset(word):
        assert not matched
    if safe_yaml._DECIMAL.fullmatch(word):
        assert [t.rsplit(":", 1)[-1] for t in matched] == ["int"]
