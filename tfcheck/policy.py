"""What a policy is, and what it returns.

A policy is a plain function from a `ScanContext` to `Result`s, wrapped by the
`@policy(...)` decorator into a `Policy` value that carries its ID, slug, severity and
documentation. Packs list their policies explicitly (no registration by import side
effect); the engine turns results into `Finding`s.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from tfcheck.config import Config
from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Severity, Status

T = TypeVar("T")


class ScanContext(msgspec.Struct):
    """What a policy sees: one root module's graph, the user's config, shared facts."""

    graph: ResourceGraph
    config: Config = msgspec.field(default_factory=Config)
    _facts: dict[Callable[[ScanContext], Any], Any] = msgspec.field(default_factory=dict)

    def fact(self, compute: Callable[[ScanContext], T]) -> T:
        """`compute(self)`, computed once per scan and shared by every policy that asks."""
        if compute not in self._facts:
            self._facts[compute] = compute(self)
        result: T = self._facts[compute]
        return result


class Result(msgspec.Struct, frozen=True):
    """One verdict on one subject, before the engine adds rule metadata."""

    status: Status
    subject: Resource
    message: str
    remediation: str = ""
    evidence: tuple[str, ...] = ()
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)
    severity: Severity | None = None  # overrides the policy's severity for this finding
    attribute: str | None = None  # points the location at this attribute's line
    # What tells this finding apart from the policy's others on the same subject, e.g.
    # ("subnet", key): part of the fingerprint that baselines and SARIF history match on.
    identity: tuple[str, object] | None = None
    # For an `unknown` whose message names no action: what decides it on HCL input
    # (`tfcheck.unknowns.A_PLAN`); the engine adds it there, a plan needs no such hint.
    decided_by: str = ""

    @classmethod
    def fail(cls, subject: Resource, message: str, **details: Any) -> Result:
        return cls(Status.FAIL, subject, message, **_evidence_as_tuple(details))

    @classmethod
    def passed(cls, subject: Resource, message: str, **details: Any) -> Result:
        return cls(Status.PASS, subject, message, **_evidence_as_tuple(details))

    @classmethod
    def unknown(cls, subject: Resource, message: str, **details: Any) -> Result:
        return cls(Status.UNKNOWN, subject, message, **_evidence_as_tuple(details))


def _evidence_as_tuple(details: dict[str, Any]) -> dict[str, Any]:
    if "evidence" in details:
        details["evidence"] = tuple(details["evidence"])
    return details


CheckFunction = Callable[[ScanContext], Iterable[Result]]


class Policy(msgspec.Struct, frozen=True):
    """A rule of the catalog: metadata plus the function that checks it."""

    id: str
    slug: str
    severity: Severity
    title: str
    check: CheckFunction
    docs_url: str = ""
    pack: str = "builtin"  # set by the registry on loading

    @property
    def doc(self) -> str:
        """The check's docstring: why, the seed text, bad and good HCL, remediation."""
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n", 1)[0]

    def matches(self, selector: str) -> bool:
        return selector.strip().lower() in (self.id.lower(), self.slug.lower())


def policy(
    *, id: str, slug: str, severity: Severity, title: str, docs_url: str = ""
) -> Callable[[CheckFunction], Policy]:
    """Attach catalog metadata to a check function."""

    def wrap(check: CheckFunction) -> Policy:
        return Policy(id=id, slug=slug, severity=severity, title=title, check=check,
                      docs_url=docs_url)

    return wrap
