"""Which inputs a list of command-line paths means.

`tfcheck scan` takes directories, plan files, `-` for a plan on standard input, and --
from pre-commit -- individual changed `.tf`/`.tfvars` files. Changed files are mapped to
the root modules that contain them, so each root is scanned once. A directory without
`.tf` files of its own but with root modules below it (a monorepo) means each of them.

Walks are bounded: the repository top is found by looking at the parents of a path
only, directory walks stay inside the directory they start from (symlinked
directories are not followed, special files are skipped), and a walk that reaches
`MAX_FILES_WALKED` files (or a `.tf` file over `MAX_SOURCE_BYTES`) is an input error
naming the limit, never a silent truncation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec

from tfcheck.model import InputError

HCL_SUFFIXES = (".tf", ".tf.json", ".tfvars", ".tfvars.json")
CONFIG_SUFFIXES = (".tf", ".tf.json")  # the files that make a directory a module
MAX_FILES_WALKED = 20_000
MAX_SOURCE_BYTES = 4_000_000  # a .tf file read for its module sources
_LOCAL_SOURCE = re.compile(r'\bsource\s*=\s*"(\.\.?/[^"]*)"')
_SKIPPED_DIRECTORIES = frozenset({"node_modules"})


class WalkLimitError(Exception):
    """A directory walk reached `MAX_FILES_WALKED`: scanning part of it would mislead."""


class Input(msgspec.Struct, frozen=True):
    """One thing to scan: an HCL root module, a plan file, or a plan on stdin."""

    kind: str  # "hcl" | "plan" | "stdin"
    path: Path
    display: str


def resolve_inputs(paths: Sequence[str], *, deleted: Sequence[str] = ()
                   ) -> tuple[list[Input], list[InputError]]:
    """Map command-line paths to distinct inputs, in the order given.

    `deleted` are files a commit removes or renames away (pre-commit never passes
    them): each still names the root module it came from, if that root remains.
    """
    inputs: list[Input] = []
    errors: list[InputError] = []
    seen: set[tuple[str, Path]] = set()
    finder = _RootFinder()
    for raw, gone in [(p, False) for p in paths] + [(p, True) for p in deleted]:
        try:
            found = _deleted_roots(raw, finder) if gone else _classify(raw, finder)
        except WalkLimitError as limit:
            errors.append(InputError(raw, str(limit)))
            continue
        if isinstance(found, InputError):
            errors.append(found)
            continue
        for item in found if isinstance(found, list) else [found]:
            key = (item.kind, item.path.resolve() if item.kind != "stdin" else item.path)
            if key not in seen:
                seen.add(key)
                inputs.append(item)
    return inputs, errors


def repository_root(paths: Sequence[str | os.PathLike[str]]) -> Path:
    """The nearest directory above the first scanned path holding `.git`, else the cwd.

    Every output names files relative to it, whatever the current directory is.
    """
    for raw in paths:
        text = os.fspath(raw)
        if text == "-":
            continue
        start = Path(text).absolute()
        for candidate in (start, *start.parents):
            if (candidate / ".git").exists():
                return candidate
        break
    return Path.cwd()


def _classify(raw: str, finder: _RootFinder) -> Input | list[Input] | InputError:
    if raw == "-":
        return Input("stdin", Path("-"), "<stdin>")
    path = Path(raw)
    if not path.exists():
        # a deleted file (a commit's or `git diff --name-only`'s) still names its root
        deleted = _deleted_roots(raw, finder) if path.parent.is_dir() else []
        return deleted or InputError(raw, "no such file or directory")
    if path.is_dir():
        if _has_configuration(path):
            return Input("hcl", path, raw)
        roots = root_modules_below(path)
        if not roots:
            return InputError(raw, "no .tf or .tf.json files in this directory or below it")
        return [Input("hcl", root, _join(raw, root.relative_to(path.resolve()))) for root in roots]
    if not path.is_file():
        return InputError(raw, "not a regular file")
    if path.name.endswith(HCL_SUFFIXES):
        return [Input("hcl", root, _display(root)) for root in finder.roots_of(path.parent)]
    return Input("plan", path, raw)


def _deleted_roots(raw: str, finder: _RootFinder) -> list[Input]:
    """The roots a deleted or renamed-away file belonged to (none if its module is gone)."""
    path = Path(raw)
    if not path.name.endswith(HCL_SUFFIXES) or path.exists():
        return []
    directory = path.parent
    if not directory.is_dir():
        # the whole module went; roots that still call it are scanned (and will say so)
        directory = directory.absolute()
    return [Input("hcl", root, _display(root)) for root in finder.roots_of(directory)]


def _join(raw: str, relative: Path) -> str:
    text = os.path.normpath(os.path.join(raw, relative))
    return Path(text).as_posix()


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path.resolve(), Path.cwd())
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _has_configuration(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(e.name.endswith(CONFIG_SUFFIXES) and e.is_file() for e in entries)
    except OSError:
        return False


def root_modules_below(top: Path) -> list[Path]:
    """Directories under `top` with `.tf` files that no other directory under it calls.

    `.terraform/` and hidden directories are skipped; a module called through a local
    source by another directory under `top` is part of that root, not a root itself.
    """
    top = top.resolve()
    modules: set[Path] = set()
    called: set[Path] = set()
    for tf_file in _config_files(top):
        modules.add(tf_file.parent)
        if tf_file.name.endswith(".tf"):
            for source in _LOCAL_SOURCE.findall(_read_text(tf_file)):
                target = (tf_file.parent / source).resolve()
                if target != tf_file.parent:
                    called.add(target)
    return sorted(modules - called)


class _RootFinder:
    """Finds the root module(s) that call a module directory through local sources."""

    def __init__(self) -> None:
        self._callers: dict[Path, list[Path]] | None = None
        self._top: Path | None = None

    def roots_of(self, directory: Path) -> list[Path]:
        """The root modules that use `directory` (itself if nothing calls it); sorted.

        A directory without `.tf` files that nothing calls (a folder of `.tfvars`
        only) is no root at all: the result is empty.
        """
        roots: set[Path] = set()
        seen: set[Path] = set()
        pending = [directory.resolve()]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            callers = self._callers_of(current)
            if not callers and _has_configuration(current):
                roots.add(current)
            pending.extend(callers)
        return sorted(roots)

    def _callers_of(self, directory: Path) -> list[Path]:
        if self._callers is None or self._top is None or not directory.is_relative_to(
            self._top
        ):
            self._top = _repository_top(directory)
            self._callers = _index_local_sources(self._top)
        return self._callers.get(directory, [])


def _repository_top(directory: Path) -> Path:
    """The enclosing git work tree, else `directory` itself: parents are looked at, not walked."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def _index_local_sources(top: Path) -> dict[Path, list[Path]]:
    """Module directory -> directories whose .tf files call it with a local source."""
    callers: dict[Path, list[Path]] = {}
    for tf_file in _config_files(top):
        if not tf_file.name.endswith(".tf"):
            continue
        for source in _LOCAL_SOURCE.findall(_read_text(tf_file)):
            target = (tf_file.parent / source).resolve()
            entry = callers.setdefault(target, [])
            if tf_file.parent not in entry:
                entry.append(tf_file.parent)
    for entry in callers.values():
        entry.sort()
    return callers


def _read_text(path: Path) -> str:
    """A `.tf` file's text for its `source = "./..."` lines; past the limit, an error."""
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise WalkLimitError(f"{path}: larger than {MAX_SOURCE_BYTES} bytes (the limit "
                                 f"MAX_SOURCE_BYTES for a .tf file)")
        with path.open("rb") as handle:
            return handle.read(MAX_SOURCE_BYTES + 1).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def _config_files(top: Path) -> Iterator[Path]:
    """Regular `.tf`/`.tf.json` files under `top`, never leaving it; bounded."""
    count = 0
    top = top.resolve()
    for directory, subdirectories, files in os.walk(top):  # symlinked dirs not followed
        subdirectories[:] = sorted(
            d for d in subdirectories
            if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES
        )
        for name in sorted(files):
            if not name.endswith(CONFIG_SUFFIXES):
                continue
            path = Path(directory) / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(top):
                    continue
            if not path.is_file():  # FIFOs, devices, sockets, dangling links
                continue
            count += 1
            if count > MAX_FILES_WALKED:
                raise WalkLimitError(
                    f"more than {MAX_FILES_WALKED} .tf files under {top}: the walk limit "
                    f"(MAX_FILES_WALKED) was reached; scan a smaller directory")
            yield path
