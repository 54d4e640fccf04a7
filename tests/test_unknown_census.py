"""fixtures/UNKNOWN_CENSUS.md is what scripts/unknown_census.py writes today.

The census lists every `unknown` finding on the fixtures and real configurations; a
change that adds or rewords one must regenerate it, so the new unknown is reviewed.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from .conftest import REPO, SHARED


@pytest.mark.slow  # scans every fixture and real configuration: ~25 s
@pytest.mark.skipif(not (SHARED / "realworld" / "configs").is_dir(),
                    reason="the census includes ../shared/realworld/configs, which is absent")
def test_the_committed_census_is_current() -> None:
    spec = importlib.util.spec_from_file_location("unknown_census",
                                                  REPO / "scripts" / "unknown_census.py")
    assert spec is not None and spec.loader is not None
    census = importlib.util.module_from_spec(spec)
    sys.modules["unknown_census"] = census
    spec.loader.exec_module(census)
    committed = (REPO / "fixtures" / "UNKNOWN_CENSUS.md").read_text(encoding="utf-8")
    fresh = census.render()
    assert "unknown findings in" in fresh
    assert committed == fresh, "run scripts/unknown_census.py and review the diff"
