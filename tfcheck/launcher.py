"""The `tfcheck` console script: answers `--version` before the CLI framework loads.

`tfcheck --version` is what scripts and bug reports run first; importing typer (and the
engine) costs more than the answer. Everything else goes to `tfcheck.cli.run`.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from tfcheck import __version__

        sys.stdout.write(f"tfcheck {__version__}\n")
        return
    from tfcheck.cli import run

    run()
