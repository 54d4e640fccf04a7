"""tfcheck: pre-apply checks for Amazon EKS private clusters.

`tfcheck.scan(paths, config=..., options=...)` is the library API the CLI is built on;
it returns a `Report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tfcheck.model import Report


def scan(paths: Any, **kwargs: Any) -> Report:
    """Scan HCL directories and plans; see `tfcheck.engine.scan` for the options."""
    from tfcheck.engine import scan as engine_scan

    return engine_scan(paths, **kwargs)


__all__ = ["__version__", "scan"]
