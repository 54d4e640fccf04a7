"""The vocabulary shared by loaders, graph, policies and reports.

Everything here is a plain, immutable value so that a report can be rendered, compared
and serialised without knowing which loader or policy produced it.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import msgspec

from tfcheck.defaults import MISSING, provider_default
from tfcheck.marks import mark_scalar


class Severity(enum.StrEnum):
    """How much a failure hurts; ordered so that `--fail-on` can compare."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Status(enum.StrEnum):
    """A finding's verdict. `unknown` is never silently turned into the other two."""

    FAIL = "fail"
    PASS = "pass"
    UNKNOWN = "unknown"


class Provenance(enum.StrEnum):
    """Where an edge of the resource graph comes from. Only `GUESS` is not a fact.

    A guess (`aws_subnet.private` + `count.index` read as `[count.index]`) may tie
    resources together, but whatever depends on it has to carry the doubt.
    """

    PLAN = "plan reference"  # the plan's configuration names the instances
    HCL = "HCL evaluation"  # the .tf files (scanned, or beside a plan) evaluated
    KNOWN_ID = "known ID"  # a literal ID equals a resource's known `id`/`arn`
    GUESS = "guess"  # an instance inferred from a key; not confirmed by anything

    @property
    def is_fact(self) -> bool:
        return self is not Provenance.GUESS


class ComparedWithout:
    """Equality and hash of a Struct over its fields but those named in `uncompared`.

    A Struct has no `compare=False`: a record with a field that is not part of what it
    means mixes this in and passes `eq=False` (so that these are the methods used).
    """

    __slots__ = ()
    __struct_fields__: tuple[str, ...]
    uncompared: ClassVar[frozenset[str]] = frozenset()

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__struct_fields__
                     if name not in self.uncompared)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._compared() == other._compared()

    def __ne__(self, other: object) -> bool:  # a Struct does not derive it from __eq__
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self._compared())


class Unknown(ComparedWithout, msgspec.Struct, frozen=True, eq=False):
    """A value the input cannot give, with the reason and what it depends on.

    Loaders put an `Unknown` wherever a plan says "known after apply" or the HCL
    evaluator cannot compute an expression. `references` keeps the addresses the
    expression pointed at, so the graph can still tie resources together.
    """

    reason: str
    references: tuple[str, ...] = ()
    # A string known except for `${...}` placeholders (user data rendered around values
    # known only after apply): enough to see which arguments a bootstrap passes. Not
    # part of what the value is: equality and hash leave it out.
    partial: str | None = None
    uncompared = frozenset({"partial"})

    def __bool__(self) -> bool:  # pragma: no cover - a guard, not a feature
        raise TypeError(f"truth value of an unknown value ({self.reason}) is undecidable")


class Sensitive(msgspec.Struct, frozen=True, dict=True):
    """A value the plan marks sensitive: policies may test it, outputs never print it.

    Its `__dict__` holds only `reveal`'s cache, never a field.
    """

    value: Any

    def __repr__(self) -> str:
        return "Sensitive(<redacted>)"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """Nothing: a Struct's own would hand rich's pretty printer the value itself."""
        return []


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def reveal(value: Any) -> Any:
    """The value behind a `Sensitive` wrapper, for policy logic only.

    Its strings and numbers (map keys too) come back marked (`tfcheck.marks`): equal to
    the plain values for every decision, shown as `(sensitive value)` in any message.
    """
    if not isinstance(value, Sensitive):
        return value
    cache = value.__dict__
    marked = cache.get("_marked")
    if marked is None:  # built once per wrapper: facts reveal the same value many times
        marked = cache["_marked"] = _marked(value.value)
    return marked


def _marked(value: Any) -> Any:
    if isinstance(value, Sensitive):
        return _marked(value.value)
    if isinstance(value, dict):
        return {mark_scalar(key): _marked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item) for item in value]
    return mark_scalar(value)


def reveal_all(value: Any) -> Any:
    """A copy of a value tree with every `Sensitive` wrapper revealed (see `reveal`)."""
    value = reveal(value)
    if isinstance(value, dict):
        return {key: reveal_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal_all(item) for item in value]
    return value


def sensitive_strings(value: Any, inside: bool = False) -> Iterator[str]:
    """Every string (or number) a value tree holds under a `Sensitive` wrapper."""
    if isinstance(value, Sensitive):
        yield from sensitive_strings(value.value, True)
    elif isinstance(value, dict):
        for item in value.values():
            yield from sensitive_strings(item, inside)
    elif isinstance(value, list):
        for item in value:
            yield from sensitive_strings(item, inside)
    elif inside and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        yield str(value)


class Location(msgspec.Struct, frozen=True):
    """Where something is written: a path relative to the scanned root and a 1-based line."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<no source>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")


NO_LOCATION = Location()


class AttributeLines(dict[str, int]):
    """Attribute path -> line, in the resource's own file unless `files` names another.

    An override file (`override.tf`, `*_override.tf`) writes some attributes of a block
    whose other attributes, and its header, are in another file.
    """

    def __init__(self, lines: Mapping[str, int] = {}, files: Mapping[str, str] = {}) -> None:  # noqa: B006 - read only
        super().__init__(lines)
        self.files = dict(files)


class Resource(msgspec.Struct):
    """One resource instance (or data source instance) in the scanned configuration.

    `values` is the nested attribute tree the way terraform shows it in a plan: nested
    blocks are lists of dicts, unknown leaves are `Unknown`, sensitive leaves are
    `Sensitive`. `configured` holds the dotted attribute paths (block indices dropped)
    that the configuration sets explicitly; it tells a provider default apart from an
    attribute whose value is only known after apply.
    """

    address: str
    type: str
    name: str
    mode: str = "managed"  # "managed" or "data"
    module: str = ""  # "module.vpc" / "module.a[0].module.b"; "" for the root module
    index: int | str | None = None
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    configured: frozenset[str] | None = None  # None: the loader cannot tell (treat as set)
    location: Location = NO_LOCATION
    attribute_lines: Mapping[str, int] = msgspec.field(default_factory=dict)
    provider: str = "aws"  # provider config key, e.g. "aws" or "aws.west"
    region: str | Unknown | None = None
    actions: tuple[str, ...] = ()  # plan actions: ("create",), ("update",), ("no-op",) ...
    suppressions: tuple[Suppression, ...] = ()
    # HCL: the one stand-in for every instance of a block whose count / for_each the
    # input cannot evaluate (its address has no instance key).
    every_instance: bool = False

    @property
    def is_data(self) -> bool:
        return self.mode == "data"

    @property
    def shown(self) -> str:
        """The address as a message names it: a stand-in says that it is every instance."""
        return f"every instance of {self.address}" if self.every_instance else self.address

    @property
    def config_address(self) -> str:
        """The address without instance keys: what a plan's `configuration` talks about."""
        return strip_instance_keys(self.address)

    def get(self, path: str) -> Any:
        """An attribute by dotted path (`vpc_config.endpoint_private_access`).

        Returns the known value, the provider default where the configuration does not
        set the attribute of a managed resource (also when a plan shows it as known after
        apply), `Unknown`
        where the configuration sets it to something the input cannot give, and `None`
        for an unset attribute without a documented default. Single nested blocks are
        entered at their first element. Sensitive values come back revealed and marked
        (`reveal`): policies decide on them, messages show `(sensitive value)`.
        """
        value: Any = self.values
        for part in path.split("."):
            value = reveal(value)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, Unknown):
                break
            if not isinstance(value, dict):
                value = None
                break
            value = value.get(part)
        # a data source's attributes come from AWS: provider defaults never apply
        default = MISSING if self.is_data else provider_default(self.type, path)
        if value is None:
            return None if default is MISSING else default
        if isinstance(value, Unknown) and default is not MISSING and not self.sets(path):
            return default
        return reveal_all(value)

    def blocks(self, path: str) -> list[dict[str, Any]] | Unknown:
        """A repeated nested block (`ingress`, `route`) as a list of attribute dicts."""
        value = self.get(path)
        if isinstance(value, Unknown):
            return value
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]
        return [item for item in value if isinstance(item, dict)]

    def sets(self, path: str) -> bool:
        """Whether the configuration sets this attribute itself (blocks: the block)."""
        return self.configured is None or path in self.configured

    def location_of(self, path: str) -> Location:
        """The line of one attribute where the loader knows it, else the resource's."""
        line = self.attribute_lines.get(path)
        if line is None:
            return self.location
        lines = self.attribute_lines
        files = lines.files if isinstance(lines, AttributeLines) else {}
        return Location(files.get(path, self.location.file), line)


class Suppression(msgspec.Struct, frozen=True):
    """A `# tfcheck:ignore PCxxx reason` comment attached to a resource."""

    rule: str  # ID or slug as written
    reason: str
    location: Location = NO_LOCATION


class Finding(msgspec.Struct, frozen=True):
    """One verdict of one policy on one subject, as the JSON contract prints it."""

    rule_id: str
    slug: str
    severity: Severity
    status: Status
    address: str
    message: str
    remediation: str = ""
    location: Location = NO_LOCATION
    evidence: tuple[str, ...] = ()
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)
    suppressed: bool = False
    suppression_reason: str | None = None
    input_path: str | None = None  # the scanned path this finding came from
    source_root: str | None = None  # the directory that `location.file` is relative to
    # Other places that explain the finding (relative to `source_root`): for a resource
    # inside a module, its own block, while `location` is the root `module` block.
    related: tuple[Location, ...] = ()
    # `name=value` of the policy's declared identity (`Result.identity`): what tells two
    # findings of one rule on one address apart in the fingerprint.
    identity: str = ""

    @property
    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.input_path or "", self.rule_id, self.address, self.status.value, self.message)

    @property
    def fingerprint(self) -> str:
        """Stable across runs and line moves: what baselines and SARIF match on."""
        import hashlib

        basis = "\x1f".join((self.rule_id, self.address, self.identity))
        return hashlib.sha256(basis.encode()).hexdigest()[:32]


class InputError(msgspec.Struct, frozen=True):
    """An input that could not be read: printed as one line, exit code 2."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class InternalError(msgspec.Struct, frozen=True):
    """A policy or loader that raised: the rest of the run still happened (exit 3)."""

    where: str
    message: str
    detail: str = ""  # traceback text, shown with --debug only


class ScannedInput(msgspec.Struct, frozen=True):
    path: str
    kind: str  # "plan" | "hcl"


class RuleInfo(msgspec.Struct, frozen=True):
    """What renderers need to know about a policy that ran (SARIF rules, explain)."""

    id: str
    slug: str
    severity: Severity
    title: str
    doc: str = ""
    docs_url: str = ""


class Report(msgspec.Struct):
    """Everything one scan produced, in deterministic order."""

    version: str
    inputs: list[ScannedInput] = msgspec.field(default_factory=list)
    rules: list[RuleInfo] = msgspec.field(default_factory=list)
    findings: list[Finding] = msgspec.field(default_factory=list)
    input_errors: list[InputError] = msgspec.field(default_factory=list)
    internal_errors: list[InternalError] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)
    baselined: int = 0  # failures hidden because the baseline records them
    # clusters the config's `clusters` leaves out: no private-cluster findings on them
    unchecked_clusters: list[str] = msgspec.field(default_factory=list)
    # (input path, cluster address) -> tfcheck.picture.Picture of that cluster's network
    pictures: dict[tuple[str, str], Any] = msgspec.field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        counts = {"fail": 0, "pass": 0, "unknown": 0, "suppressed": 0}
        for finding in self.findings:
            if finding.suppressed:
                counts["suppressed"] += 1
            else:
                counts[finding.status.value] += 1
        return counts

    def visible(self, show_passed: bool) -> list[Finding]:
        """The findings an output lists: fail and unknown always, pass on request."""
        return [f for f in self.findings if show_passed or f.status is not Status.PASS]

    def failures(self, at_least: Severity = Severity.LOW) -> Iterator[Finding]:
        for finding in self.findings:
            if (
                finding.status is Status.FAIL
                and not finding.suppressed
                and finding.severity.rank >= at_least.rank
            ):
                yield finding


# one character or one whole key at a time: `(?:[^.]+|key)+` would try every way of
# cutting a long name into runs before failing on a stray quote (exponential time)
_PART = r'(?:[^."\[\]]|\[(?:"(?:[^"\\]|\\.)*"|[^\[\]"]*)\])+'
_ADDRESS_PART = re.compile(_PART)
_ADDRESS = re.compile(rf"{_PART}(?:\.{_PART})*")


def split_address(address: str) -> list[str]:
    """`module.a["x.y"].aws_b.c[0]` -> [`module`, `a["x.y"]`, `aws_b`, `c[0]`].

    Splits on dots outside instance keys (which may hold dots and escaped quotes).
    """
    if "[" not in address and "]" not in address and '"' not in address:
        return address.split(".")  # no instance keys: a plain split
    if _ADDRESS.fullmatch(address):  # well-formed keys: one regular expression
        return _ADDRESS_PART.findall(address)
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    in_string = False
    escaped = False
    for char in address:
        if in_string:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "." and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


_KEY = r'\[(?:"(?:[^"\\]|\\.)*"|[^\[\]"]*)\]'
_INSTANCE_KEY = re.compile(_KEY)
# every part a name with at most one key, at its end: what terraform writes
_NAMES_AND_KEYS = re.compile(rf'[^."\[\]]+(?:{_KEY})?(?:\.[^."\[\]]+(?:{_KEY})?)*')


@functools.lru_cache(maxsize=131_072)
def strip_instance_keys(address: str) -> str:
    """`module.a[0].aws_subnet.x["k"]` -> `module.a.aws_subnet.x`."""
    if "[" not in address:
        return address
    if _NAMES_AND_KEYS.fullmatch(address):  # each key ends its part: drop the keys
        return _INSTANCE_KEY.sub("", address)
    return ".".join(part.split("[", 1)[0] for part in split_address(address))


def instance_suffix(key: int | str | None) -> str:
    """The `[0]` / `["k"]` suffix terraform prints for an instance key."""
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'["{escaped}"]'
