"""Loaders turn one input (a plan, an HCL directory) into a `ResourceGraph`."""

from __future__ import annotations

from tfcheck.model import InputError


class LoadFailure(Exception):
    """The input cannot be read at all: carries the one-line error for the user."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error
