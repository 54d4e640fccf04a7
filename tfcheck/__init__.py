"""tfcheck: pre-apply checks for Amazon EKS private clusters.

`tfcheck.scan(paths)` is the library API the CLI is built on; it returns a `Report`.
Heavy modules are imported on the first call, so `import tfcheck` stays quick.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tfcheck.config import Config
    from tfcheck.engine import ScanOptions
    from tfcheck.model import Report
    from tfcheck.policy import Policy

PathLike = str | os.PathLike[str]


def scan(
    paths: PathLike | Sequence[PathLike],
    *,
    config: Config | None = None,
    config_file: PathLike | None = None,
    options: ScanOptions | None = None,
    policies: Sequence[Policy] | None = None,
) -> Report:
    """Scan HCL directories, `.tf` files and plans, as `tfcheck scan` does.

    `paths` is one path (`"plan.json"`, a `Path`) or a sequence of them. Without
    `config`, the settings come from `config_file`, else from the nearest
    `.tfcheck.toml` (or `pyproject.toml` with `[tool.tfcheck]`) above the first path,
    as on the command line. Raises `tfcheck.config.ConfigError` for an unusable config.
    """
    from pathlib import Path

    from tfcheck.config import find_config_file, load_config
    from tfcheck.engine import scan as engine_scan

    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if config is None:
        found: Path | None
        if config_file is not None:
            found = Path(config_file)
        else:
            first = next((Path(p) for p in path_list if os.fspath(p) != "-"), Path.cwd())
            found = find_config_file(first if first.exists() else Path.cwd())
        config = load_config(found) if found is not None else None
    return engine_scan(path_list, config=config, options=options, policies=policies)


__all__ = ["__version__", "scan"]
