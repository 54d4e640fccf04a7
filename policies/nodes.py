"""Policies of this area are not written yet."""

from __future__ import annotations

from tfcheck.policy import Policy

POLICIES: tuple[Policy, ...] = ()
