"""scripts/generate_fixtures.py loaded as a module, for the tests that drive terraform."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "generate_fixtures.py"


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_fixtures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_fixtures", module)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
