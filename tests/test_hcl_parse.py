"""The HCL parser: python-hcl2's grammar quirks normalised into tfcheck's syntax tree."""

from __future__ import annotations

import pytest

from tfcheck.hcl.ast import (
    Binary,
    Call,
    Conditional,
    ForExpr,
    GetAttr,
    Literal,
    Name,
    Splat,
    Template,
    TemplateFor,
    TemplateIf,
)
from tfcheck.hcl.json_syntax import parse_json
from tfcheck.hcl.parse import (
    HclSyntaxError,
    decode,
    parse_expression,
    parse_hcl,
    parse_template,
)


def attrs(text: str) -> dict[str, object]:
    body = parse_hcl(text, "main.tf").body
    return {name: attribute.expr for name, attribute in body.attributes.items()}


def test_an_expression_is_equal_to_itself_written_further_right() -> None:
    a, b, c = (parse_expression(text) for text in ("var.x + 1", "    var.x + 1", "var.x + 2"))
    assert isinstance(a, Binary) and isinstance(b, Binary) and a.column != b.column
    assert a == b and (a != b) is False and hash(a) == hash(b) and len({a, b}) == 1
    assert a != c and (a == c) is False
    assert Literal(1, 3) != Literal(1, 4) and Literal(1) != Name("x")  # the line counts


def test_operator_precedence_is_rebuilt_left_associative() -> None:
    parsed = attrs("a = 1 + 2 * 3 - 4\nb = 8 - 2 - 1\nc = x || y && z\n")
    a = parsed["a"]
    assert isinstance(a, Binary) and a.op == "-"
    assert isinstance(a.left, Binary) and a.left.op == "+"
    assert isinstance(a.left.right, Binary) and a.left.right.op == "*"
    b = parsed["b"]
    assert isinstance(b, Binary) and isinstance(b.left, Binary)  # (8 - 2) - 1
    c = parsed["c"]
    assert isinstance(c, Binary) and c.op == "||"
    assert isinstance(c.right, Binary) and c.right.op == "&&"


def test_a_comparison_before_a_conditional_is_its_condition() -> None:
    cond = attrs('a = var.x == "y" ? 1 : 2\n')["a"]
    assert isinstance(cond, Conditional)
    assert isinstance(cond.cond, Binary) and cond.cond.op == "=="
    assert cond.true == Literal(1, 1) and cond.false == Literal(2, 1)


def test_references_splats_and_for_expressions() -> None:
    parsed = attrs(
        "a = aws_subnet.private[*].id\n"
        "b = aws_subnet.private.*.id\n"
        'c = [for k, v in m : v if k != "x"]\n'
        "d = {for k, v in m : v => k...}\n"
        "e = f(a, b...)\n"
    )
    assert isinstance(parsed["a"], Splat) and isinstance(parsed["b"], Splat)
    assert isinstance(parsed["a"].each, GetAttr) and parsed["a"].each.name == "id"
    c = parsed["c"]
    assert isinstance(c, ForExpr) and c.key_var == "k" and c.value_var == "v" and c.key is None
    d = parsed["d"]
    assert isinstance(d, ForExpr) and d.grouping and d.key is not None
    e = parsed["e"]
    assert isinstance(e, Call) and e.expand_final and len(e.args) == 2


def test_quoted_string_escapes_and_directives() -> None:
    text = 'a = "x\\"y\\n${var.z} $${lit} %%{lit} %{ if var.on }on%{ else }off%{ endif }"\n'
    a = attrs(text)["a"]
    assert isinstance(a, Template)
    assert a.parts[0] == 'x"y\n'
    assert a.parts[1] == GetAttr(Name("var", 1), "z", 1)
    assert a.parts[2] == " ${lit} %{lit} "
    assert isinstance(a.parts[3], TemplateIf)


def test_single_literal_string_is_a_literal() -> None:
    assert attrs('a = "plain"\n')["a"] == Literal("plain", 1)


def test_heredoc_keeps_final_newline_and_trims_indentation() -> None:
    parsed = attrs("a = <<EOT\nline ${x}\nEOT\nb = <<-EOT\n    one\n      two\n    EOT\n")
    a = parsed["a"]
    assert isinstance(a, Template) and a.parts == ("line ", Name("x", 2), "\n")
    assert parsed["b"] == Literal("one\n  two\n", 4)


def test_heredoc_end_marker_with_trailing_spaces_is_accepted() -> None:
    parsed = attrs("a = <<EOT\nhello\nEOT   \nb = 1\n")
    assert parsed["a"] == Literal("hello\n", 1)
    assert parsed["b"] == Literal(1, 4)


def test_bom_and_crlf_are_accepted() -> None:
    text = decode(
        b'\xef\xbb\xbfresource "aws_vpc" "main" {\r\n  cidr_block = "10.0.0.0/16"\r\n}\r\n'
    )
    block = parse_hcl(text, "main.tf").body.blocks[0]
    assert block.labels == ("aws_vpc", "main")
    assert block.body.attributes["cidr_block"].line == 2


def test_template_for_directive_with_strip_markers() -> None:
    template = parse_template("%{ for s in list ~}\n- ${s}\n%{ endfor ~}\n")
    assert isinstance(template, Template)
    loop = template.parts[0]
    assert isinstance(loop, TemplateFor) and loop.value_var == "s"
    assert loop.body[0] == "- "


def test_blocks_have_lines_and_end_lines() -> None:
    body = parse_hcl(
        'resource "aws_eks_cluster" "main" {\n  name = "x"\n\n  vpc_config {\n'
        "    endpoint_private_access = true\n  }\n}\n",
        "main.tf",
    ).body
    block = body.blocks[0]
    assert (block.line, block.end_line) == (1, 7)
    nested = block.body.blocks[0]
    assert nested.type == "vpc_config" and nested.line == 4
    assert nested.body.attributes["endpoint_private_access"].line == 5


def test_suppression_comments_are_collected_with_lines() -> None:
    parsed = parse_hcl(
        "# tfcheck:ignore PC102 public access is needed by CI\n"
        'resource "aws_eks_cluster" "main" {\n'
        "  // tfcheck:ignore PC101, PC203\n"
        "  name = local.a + local.b  # tfcheck:ignore PC301 trailing\n"
        "}\n",
        "main.tf",
    )
    found = [(c.rules, c.reason, c.line) for c in parsed.comments]
    assert found == [
        (("PC102",), "public access is needed by CI", 1),
        (("PC101", "PC203"), "", 3),
        (("PC301",), "trailing", 4),
    ]
    assert parsed.comment_lines == frozenset({1, 3})


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('resource "x" "y" {\n  a = 1 +\n}\n', 3, 1, "unexpected '}'"),
        ("a = 1\nb = 2 c\n", 2, 8, "unexpected end of file"),
        ('resource "x" "y" {\n  a = 1\n', 2, 8, "unexpected end of file"),
        ("a = @\n", 1, 5, "unexpected '@'"),
    ],
)
def test_syntax_errors_carry_line_and_column(
    text: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(HclSyntaxError) as caught:
        parse_hcl(text, "main.tf")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert caught.value.message.startswith(message)


def test_deeply_nested_expression_is_a_syntax_error_not_a_crash() -> None:
    text = "a = " + "[" * 400 + "]" * 400 + "\n"
    with pytest.raises(HclSyntaxError, match="nested too deeply"):
        parse_hcl(text, "main.tf")


def test_json_configuration_becomes_the_same_blocks() -> None:
    parsed = parse_json(
        '{"resource": {"aws_vpc_endpoint": {"s3": {\n'
        '  "vpc_id": "${aws_vpc.main.id}",\n'
        '  "service_name": "com.amazonaws.eu-west-1.s3",\n'
        '  "tags": {"Name": "s3"},\n'
        '  "timeouts": {"create": "5m"}\n'
        "}}},\n"
        ' "variable": {"region": {"default": "eu-west-1"}}}',
        "main.tf.json",
    )
    resource = next(b for b in parsed.body.blocks if b.type == "resource")
    assert resource.labels == ("aws_vpc_endpoint", "s3")
    attributes = resource.body.attributes
    assert isinstance(attributes["vpc_id"].expr, Template)
    assert attributes["service_name"].expr == Literal("com.amazonaws.eu-west-1.s3", 3)
    assert "tags" in attributes  # a map attribute, not a block
    assert [b.type for b in resource.body.blocks] == ["timeouts"]
    assert resource.line == 1
    variable = next(b for b in parsed.body.blocks if b.type == "variable")
    assert variable.labels == ("region",)


def test_json_syntax_error_has_line_and_column() -> None:
    with pytest.raises(HclSyntaxError) as caught:
        parse_json('{"resource": {\n  "x": \n}', "main.tf.json")
    assert caught.value.line == 3


def test_parse_expression_for_variable_values() -> None:
    assert parse_expression('["a", "b"]') is not None
    with pytest.raises(HclSyntaxError):
        parse_expression("[")
