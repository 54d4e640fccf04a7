"""The static shape of a configuration: modules, their files, calls and directories.

Which files make each module, which modules each module calls, and where those
modules are on disk. Nothing is evaluated here. Local sources (`./x`, `../x`) are
followed relative to the calling module; anything else (registry, git, ...) only where
`terraform init` recorded it in `.terraform/modules/modules.json`. Each file is parsed
once per load; a file that cannot be parsed becomes an `InputError` and the rest of the
module still loads. Override files (`override.tf`, `*_override.tf`) are merged into the
module after its other files (`tfcheck.hcl.overrides`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from tfcheck.hcl.ast import Attribute, Block, ParsedFile
from tfcheck.hcl.json_syntax import parse_json
from tfcheck.hcl.overrides import apply_override_file, is_override_file, literal_source
from tfcheck.hcl.parse import MAX_FILE_BYTES, HclSyntaxError, decode
from tfcheck.hcl.parsing import Parser
from tfcheck.model import InputError
from tfcheck.safe_io import (
    ReadRefused,
    lies_inside,
    read_bytes,
    read_resolved,
    resolve_inside,
    scan_root,
)

MAX_MODULE_DEPTH = 20
MAX_FILES_PER_MODULE = 2_000
MAX_TOTAL_BYTES = 50_000_000  # every configuration file of one load together
MAX_MODULES_JSON = 4_000_000


class ResourceDef(msgspec.Struct):
    """One `resource` or `data` block (with what override files merged into it)."""

    mode: str  # "managed" / "data"
    type: str
    name: str
    block: Block
    file: str
    # the override blocks merged into `block`, each with its file (their comments count)
    overrides: tuple[tuple[Block, str], ...] = ()

    @property
    def address(self) -> str:
        local = f"{self.type}.{self.name}"
        return f"data.{local}" if self.mode == "data" else local


class ModuleCallDef(msgspec.Struct):
    name: str
    block: Block
    file: str
    source: str | None


class ModuleDef(msgspec.Struct):
    """One module directory, parsed."""

    directory: Path
    key: str  # modules.json key: "" for the root, "vpc", "vpc.subnets"
    display_dir: str  # the directory relative to the scanned root ("." for the root)
    files: list[ParsedFile] = msgspec.field(default_factory=list)
    variables: dict[str, tuple[Block, str]] = msgspec.field(default_factory=dict)
    locals: dict[str, tuple[Attribute, str]] = msgspec.field(default_factory=dict)
    outputs: dict[str, tuple[Block, str]] = msgspec.field(default_factory=dict)
    resources: dict[str, ResourceDef] = msgspec.field(default_factory=dict)
    calls: dict[str, ModuleCallDef] = msgspec.field(default_factory=dict)
    providers: list[tuple[Block, str]] = msgspec.field(default_factory=list)
    children: dict[str, ModuleDef] = msgspec.field(default_factory=dict)
    missing: dict[str, str] = msgspec.field(default_factory=dict)  # call name -> why not on disk


def config_files(directory: Path) -> list[Path]:
    """The `*.tf` and `*.tf.json` files of one module directory, in terraform's order.

    Lexical order, override files last (terraform merges them after the others).
    """
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    found = [
        p
        for p in entries
        if (p.name.endswith(".tf") or p.name.endswith(".tf.json"))
        and not p.name.startswith(".")
        and p.is_file()
    ]
    return sorted(found, key=lambda p: is_override_file(p.name))


def display_path(root: Path, path: Path) -> str:
    """A path relative to the scanned root, with forward slashes."""
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        relative = str(path)
    return relative.replace(os.sep, "/")


class ConfigLoader:
    """Loads a root module and every module it calls that is on disk.

    Everything it reads lies inside `confine` (by default the repository top above
    `root`, see `tfcheck.safe_io.scan_root`): a module source or file resolving outside
    it is not read.
    """

    def __init__(
        self, root: Path, confine: Path | None = None, parser: Parser | None = None
    ) -> None:
        self.root = root
        self.parser = parser or Parser()
        self.confine = (confine or scan_root(root)).resolve()
        self.errors: list[InputError] = []
        self.notes: list[str] = []
        self._parsed: dict[Path, ParsedFile | None] = {}  # by resolved path
        self._resolved: dict[Path, Path] = {}  # a module called many times: resolved once
        self._listed: dict[Path, list[Path]] = {}  # config_files by resolved directory
        self._bytes = 0
        self._modules_json = _read_modules_json(root, self.confine)

    def parse_file(self, path: Path) -> ParsedFile | None:
        """The file at `path`, parsed once per load (None, and one error, if it cannot be)."""
        resolved = self._resolved.get(path)
        refused: ReadRefused | None = None
        if resolved is None:
            try:
                resolved = resolve_inside(path, {self.confine})
            except ReadRefused as exc:
                resolved, refused = path, exc  # keyed by its own path: reported once
            self._resolved[path] = resolved
        if resolved not in self._parsed:
            self._parsed[resolved] = self._read_and_parse(path, resolved, refused)
        return self._parsed[resolved]

    def _read_and_parse(
        self, path: Path, resolved: Path, refused: ReadRefused | None
    ) -> ParsedFile | None:
        shown = display_path(self.root, path)
        try:
            if self._bytes > MAX_TOTAL_BYTES:
                raise ReadRefused(f"not read: the configuration is over {MAX_TOTAL_BYTES} bytes")
            if refused is not None:
                raise refused
            data = self.parser.read_ahead(resolved)
            if data is None:  # not read ahead (`prefetch`): a JSON file, a single-core scan
                data = read_resolved(resolved, MAX_FILE_BYTES)
            self._bytes += len(data)
            if path.name.endswith(".json"):
                return parse_json(decode(data), shown)
            return self.parser.parse(data, shown)
        except HclSyntaxError as exc:
            self.errors.append(InputError(shown, exc.message, exc.line, exc.column))
        except ReadRefused as exc:
            self.errors.append(InputError(shown, f"file {exc.reason}", exc.line, exc.column))
        return None

    @property
    def bytes_read(self) -> int:
        """Configuration text read so far (every module's files): what sizes the budget."""
        return self._bytes

    def load(self) -> ModuleDef:
        return self._load(self.root, self.root.resolve(), "", 0, ())

    def _load(
        self, directory: Path, resolved: Path, key: str, depth: int, chain: tuple[Path, ...]
    ) -> ModuleDef:
        """The module in `directory` (`resolved`: the same, resolved) and its children."""
        module = ModuleDef(directory, key, display_path(self.root, directory))
        files = self._listed.get(resolved)
        if files is None:
            files = self._listed[resolved] = config_files(directory)
        if len(files) > MAX_FILES_PER_MODULE:
            self.errors.append(
                InputError(
                    display_path(self.root, directory),
                    f"more than {MAX_FILES_PER_MODULE} configuration files in one module: "
                    "none of this module is read",
                )
            )
            files = []
        for path in files:
            parsed = self.parse_file(path)
            if parsed is not None:
                module.files.append(parsed)
                if is_override_file(path.name):
                    self.errors.extend(apply_override_file(module, parsed))
                else:
                    _index(module, parsed)
        for name, call in module.calls.items():
            child_key = f"{key}.{name}" if key else name
            child_dir, why = self._locate(directory, child_key, call.source)
            if child_dir is None:
                module.missing[name] = why
                if why.endswith(_NOT_A_DIRECTORY):
                    # terraform init refuses it: a scan must not pass what it never saw
                    line, column = call.block.line, call.block.column
                    self.errors.append(InputError(call.file, why, line, column))
                continue
            if depth >= MAX_MODULE_DEPTH or child_dir in chain:  # (`_locate` resolved it)
                module.missing[name] = f"module {child_key} calls itself or nests too deeply"
                continue
            module.children[name] = self._load(
                child_dir, child_dir, child_key, depth + 1, (*chain, resolved)
            )
        return module

    def _locate(self, parent: Path, key: str, source: str | None) -> tuple[Path | None, str]:
        if source is None:
            return None, f"module {key} has no literal source"
        if source.startswith(("./", "../")) or source in (".", ".."):
            directory = (parent / source).resolve()
            if not lies_inside(directory, {self.confine}):
                return None, f"module {key}: local source {source} is outside the scanned root"
            if directory.is_dir():
                return directory, ""
            return None, f"module {key}: local source {source}{_NOT_A_DIRECTORY}"
        recorded = self._modules_json.get(key)
        if recorded is not None:
            directory = (self.root / recorded).resolve()
            if not lies_inside(directory, {self.confine}):
                return None, f"module {key}: .terraform/modules places it outside the scanned root"
            if directory.is_dir():
                return directory, ""
        return (
            None,
            f"module {key} ({source}) is not on disk: run terraform init "
            "so that .terraform/modules holds it",
        )


_NOT_A_DIRECTORY = " is not a directory"


def prefetch(loaders: list[ConfigLoader]) -> None:
    """Parse every `.tf` file the loaders' loads will parse, ahead and all together.

    Walks module calls level by level across every root (a monorepo's roots share one
    batch), so each level is one `Parser.prepare` call: in worker processes when it is
    large. Nothing is reported here; `load` reports errors in its own order.
    """
    seen: set[Path] = set()
    total = 0  # the loads' own bound on bytes read, here for all of them together
    level = [(loader, loader.root, "") for loader in loaders]
    explored: set[Path] = set()  # a module called from many places is read once
    for _ in range(MAX_MODULE_DEPTH + 1):
        # each new directory's files: (resolved path, bytes, path shown), under its loader
        batch: dict[tuple[ConfigLoader, Path], list[tuple[Path, bytes, str]]] = {}
        for loader, directory, _key in level:
            if directory in explored:
                continue
            explored.add(directory)
            files = batch.setdefault((loader, directory), [])
            paths = config_files(directory)
            for path in paths if len(paths) <= MAX_FILES_PER_MODULE else []:
                if path.name.endswith(".json") or total > MAX_TOTAL_BYTES:
                    continue
                try:
                    resolved = resolve_inside(path, {loader.confine})
                    if resolved in seen:
                        continue
                    seen.add(resolved)
                    data = read_resolved(resolved, MAX_FILE_BYTES)
                except ReadRefused:
                    continue
                total += len(data)
                files.append((resolved, data, display_path(loader.root, path)))
        by_parser: dict[Parser, list[tuple[Path, bytes, str]]] = {}
        for (loader, _), files in batch.items():
            by_parser.setdefault(loader.parser, []).extend(files)
        for parser, prepared in by_parser.items():
            parser.prepare(prepared)
        calls_in = {place: _calls(loader.parser, files) for (loader, place), files in batch.items()}
        following = []
        for loader, directory, key in level:
            calls = calls_in.get(directory)
            for name, call in calls.calls.items() if calls is not None else ():
                child_key = f"{key}.{name}" if key else name
                child, _ = loader._locate(directory, child_key, call.source)
                if child is not None:
                    following.append((loader, child, child_key))
        if not following:
            return
        level = following


def _calls(parser: Parser, files: list[tuple[Path, bytes, str]]) -> ModuleDef:
    """The module calls in one directory's files (parsed ahead; errors: `load` reports)."""
    module = ModuleDef(Path(), "", "")
    for _, data, shown in files:
        parsed = parser.peek(data, shown)
        if parsed is None:
            continue
        if is_override_file(shown.rsplit("/", 1)[-1]):
            apply_override_file(module, parsed)
        else:
            _index(module, parsed)
    return module


def _read_modules_json(root: Path, confine: Path) -> dict[str, str]:
    path = root / ".terraform" / "modules" / "modules.json"
    try:
        data = json.loads(read_bytes(path, {confine}, MAX_MODULES_JSON).decode("utf-8-sig"))
    except (ReadRefused, ValueError, RecursionError):
        return {}
    found: dict[str, str] = {}
    modules = data.get("Modules") if isinstance(data, dict) else None
    for entry in modules if isinstance(modules, list) else []:
        if isinstance(entry, dict):
            key, directory = entry.get("Key"), entry.get("Dir")
            if isinstance(key, str) and isinstance(directory, str) and key:
                found[key] = directory
    return found


def _index(module: ModuleDef, parsed: ParsedFile) -> None:
    for block in parsed.body.blocks:
        labels = block.labels
        if block.type in ("resource", "data") and len(labels) >= 2:
            mode = "managed" if block.type == "resource" else "data"
            resource = ResourceDef(mode, labels[0], labels[1], block, parsed.path)
            module.resources.setdefault(resource.address, resource)
        elif block.type == "variable" and labels:
            module.variables.setdefault(labels[0], (block, parsed.path))
        elif block.type == "locals":
            for name, attribute in block.body.attributes.items():
                module.locals.setdefault(name, (attribute, parsed.path))
        elif block.type == "output" and labels:
            module.outputs.setdefault(labels[0], (block, parsed.path))
        elif block.type == "module" and labels:
            call = ModuleCallDef(labels[0], block, parsed.path, literal_source(block))
            module.calls.setdefault(labels[0], call)
        elif block.type == "provider" and labels:
            module.providers.append((block, parsed.path))
