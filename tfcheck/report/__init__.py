"""Output formats, one module each, all rendering the same `Report`.

Each format module exposes `render(report: Report, options: RenderOptions) -> str`.
The registry maps a format name to its module so that the CLI imports only what it uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import msgspec

from tfcheck.model import Report


class RenderOptions(msgspec.Struct, frozen=True):
    """What every renderer may need beyond the report itself."""

    show_passed: bool = False
    color: bool = False
    width: int | None = None
    repo_root: str | None = None  # SARIF/annotations paths are made relative to this


FORMATS: dict[str, str] = {
    "pretty": "tfcheck.report.pretty",
    "json": "tfcheck.report.json",
    "sarif": "tfcheck.report.sarif",
    "junit": "tfcheck.report.junit",
    "markdown": "tfcheck.report.markdown",
    "github": "tfcheck.report.github",
}


def renderer(name: str) -> Callable[[Report, RenderOptions], str]:
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Report, RenderOptions], str] = module.render
    return render
