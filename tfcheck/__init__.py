"""tfcheck: pre-apply checks for Amazon EKS private clusters."""

from __future__ import annotations

__version__ = "0.1.0"
