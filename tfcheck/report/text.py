"""Terminal text for people: wrapping to a width, the policy table and `explain`.

Plain text is built first and colour added on top (ANSI, only when asked), so the text a
test snapshots is exactly what a terminal shows without the colours.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable

from tfcheck.model import Severity
from tfcheck.policy import Policy

ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
        "magenta": "35", "cyan": "36", "bold red": "1;31", "white on red": "1;37;41",
        "bold green": "1;32", "bold magenta": "1;35"}
SEVERITY_STYLE = {Severity.CRITICAL: "white on red", Severity.HIGH: "bold red",
                  Severity.MEDIUM: "yellow", Severity.LOW: "cyan"}
MIN_TEXT_WIDTH = 30
_INLINE_CODE = re.compile(r"`([^`]+)`")
# A `## Good` HCL block whose first line names one of these files is that file, written next
# to the Bad example (CONTRIBUTING.md, "Docstring"); what each does, in the reader's words:
FIX_FILES = {
    "fix_override.tf": "`fix_override.tf` is a Terraform override file: an attribute it sets "
                       "replaces the Bad one, a nested block replaces every Bad block of its "
                       "type.",
    "fix.tf": "`fix.tf` adds new blocks.",
}
_GOOD_HEADING = re.compile(r"^## Good\b.*$", re.M)
_FILE_LINE = re.compile(r"# (\S+\.tf)[ \t]*(?:\n|$)")


def fix_file(code: str) -> str | None:
    """The file an HCL block is written to when its first line is `# <name>.tf`."""
    match = _FILE_LINE.match(code)
    return match[1] if match else None


def doc_for_readers(doc: str) -> str:
    """The doc with each `## Good` given as a change announced as one: no hunting for it."""

    def announce(heading: re.Match[str]) -> str:
        section = doc[heading.end():].split("\n## ", 1)[0]
        files = [fix_file(code) for code in re.findall(r"```hcl\n(.*?)```", section, re.S)]
        said = [FIX_FILES[name] for name in FIX_FILES if name in files]
        if not said:
            return heading[0]
        return f"{heading[0]}\nThe Bad example above with this change. {' '.join(said)}\n"

    return _GOOD_HEADING.sub(announce, doc)


def paint(text: str, style: str, color: bool) -> str:
    """`text` in an ANSI style when colour is on; unchanged otherwise."""
    if not color or not style or not text:
        return text
    return f"\x1b[{ANSI[style]}m{text}\x1b[0m"


def wrap(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """`text` wrapped at word boundaries (never inside a word or a resource address)."""
    lines = textwrap.wrap(" ".join(text.split()), max(MIN_TEXT_WIDTH, width - len(indent)),
                          break_long_words=False, break_on_hyphens=False)
    if not lines:
        return [first if first is not None else indent]
    head = (first if first is not None else indent) + lines[0]
    return [head, *(indent + line for line in lines[1:])]


def policy_table(policies: Iterable[Policy], *, width: int, color: bool) -> str:
    """`tfcheck policies`: one line per policy, the title wrapped under itself.

    Columns: ID, severity, slug, title; a pack column appears when any policy comes from
    a pack other than the built-in one. Narrow terminals put the title on the next line.
    """
    rows = list(policies)
    packs = any(p.pack != "builtin" for p in rows)
    slug_width = max((len(p.slug) for p in rows), default=4)
    pack_width = max((len(p.pack) for p in rows), default=4) if packs else 0
    fixed = 6 + 10 + slug_width + 2 + (pack_width + 2 if packs else 0)
    one_line = width - fixed >= 28
    out: list[str] = []
    heading = f"{'ID':<6}{'SEVERITY':<10}{'SLUG':<{slug_width + 2}}"
    if packs:
        heading += f"{'PACK':<{pack_width + 2}}"
    out.append(paint(heading + ("TITLE" if one_line else ""), "bold", color).rstrip())
    for p in rows:
        start = (f"{p.id:<6}" + paint(f"{p.severity.value:<10}", SEVERITY_STYLE[p.severity],
                                      color) + f"{p.slug:<{slug_width + 2}}")
        if packs:
            start += f"{p.pack:<{pack_width + 2}}"
        if one_line:
            title = wrap(p.title, width, " " * fixed)
            out.append(start + title[0].lstrip())
            out.extend(title[1:])
        else:
            out.append(start.rstrip())
            out.extend(wrap(p.title, width, " " * 6))
    out.append("")
    out.append(f"{len(rows)} policies. `tfcheck explain ID` shows one in full.")
    return "\n".join(line.rstrip() for line in out) + "\n"


def explain_markdown(policy: Policy) -> str:
    """The rule's documentation as Markdown source (`explain --markdown`)."""
    text = (f"# {policy.id} {policy.slug} ({policy.severity.value}): {policy.title}\n\n"
            f"{doc_for_readers(policy.doc)}\n")
    if policy.docs_url:
        text += f"\nSee: {policy.docs_url}\n"
    return text


def explain_text(policy: Policy, *, width: int, color: bool) -> str:
    """`tfcheck explain`: the Markdown doc rendered for a terminal of `width` columns.

    Headings become bold capitals, paragraphs and list items are re-wrapped, code
    blocks are indented and kept exactly as written (HCL must stay copyable).
    """
    out = [paint(f"{policy.id} {policy.slug}", "bold", color) + "  "
           + paint(policy.severity.value, SEVERITY_STYLE[policy.severity], color)]
    out.extend(paint(line, "bold", color) for line in wrap(policy.title, width))
    previous = ""
    for kind, body in _blocks(doc_for_readers(policy.doc)):
        if not (kind == previous == "item"):
            out.append("")
        previous = kind
        if kind == "heading":
            out.append(paint(body.upper(), "bold", color))
        elif kind == "code":
            out.extend(paint("    " + line, "cyan", color) if line else ""
                       for line in body.splitlines())
        elif kind == "quote":
            out.extend(_inline(line, color) for line in wrap(body, width, "  | "))
        elif kind == "item":
            out.extend(_inline(line, color) for line in wrap(body, width, "    ", "  - "))
        else:
            out.extend(_inline(line, color) for line in wrap(body, width))
    if policy.docs_url:
        out += ["", f"See: {policy.docs_url}"]
    return "\n".join(out) + "\n"


def _inline(line: str, color: bool) -> str:
    """Inline code: the backticks dropped, the code coloured (kept when plain)."""
    if not color:
        return line
    return _INLINE_CODE.sub(lambda m: paint(m[1], "cyan", True), line)


def _blocks(doc: str) -> list[tuple[str, str]]:
    """Markdown blocks: ("heading"|"code"|"quote"|"item"|"paragraph", text)."""
    blocks: list[tuple[str, str]] = []
    lines = doc.splitlines()
    index = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(("paragraph", " ".join(paragraph)))
            paragraph.clear()

    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            fence = stripped[:len(stripped) - len(stripped.lstrip("`"))]
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(fence):
                body.append(lines[index])
                index += 1
            blocks.append(("code", "\n".join(body)))
        elif stripped.startswith(">"):
            flush()
            quote = [stripped.lstrip("> ")]
            while index + 1 < len(lines) and lines[index + 1].strip().startswith(">"):
                index += 1
                quote.append(lines[index].strip().lstrip("> "))
            blocks.append(("quote", " ".join(quote)))
        elif stripped.startswith("#"):
            flush()
            blocks.append(("heading", stripped.lstrip("#").strip()))
        elif re.match(r"^\s*([-*]|\d+\.)\s", line):
            flush()
            item = re.sub(r"^\s*([-*]|\d+\.)\s+", "", line)
            while index + 1 < len(lines) and lines[index + 1].startswith("  ") and \
                    lines[index + 1].strip() and not re.match(r"^\s*([-*]|\d+\.)\s",
                                                              lines[index + 1]):
                index += 1
                item += " " + lines[index].strip()
            blocks.append(("item", item))
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
        index += 1
    flush()
    return blocks
