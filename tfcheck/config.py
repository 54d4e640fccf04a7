"""User configuration: `[tool.tfcheck]` in pyproject.toml or `.tfcheck.toml`.

Keys mirror the CLI flags (with underscores), plus the policy tuning knobs. The file is
found by walking up from the scanned path; command-line flags win over it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tfcheck.model import Severity

CONFIG_FILES = (".tfcheck.toml", "pyproject.toml")
# Keys may be spelled like the CLI flags they mirror (`skip-policy = [...]`).
FLAG_SPELLINGS = {"policy": "policies", "skip_policy": "skip_policies"}


class ConfigError(Exception):
    """A config file that cannot be used; the CLI reports it as a user error (exit 2)."""


@dataclass(frozen=True)
class Config:
    """Everything a user can set; the defaults are the documented behaviour."""

    policies: tuple[str, ...] = ()  # only these IDs/slugs (empty: all)
    skip_policies: tuple[str, ...] = ()
    fail_on: Severity = Severity.LOW
    fail_on_unknown: bool = False
    show_passed: bool = False
    # PC301: services added to / removed from the always-required set.
    required_endpoints: tuple[str, ...] = ()
    not_required_endpoints: tuple[str, ...] = ()
    # PC601: registries (host or host/prefix) accepted besides ECR in the cluster's region.
    allowed_registries: tuple[str, ...] = ()
    # PC605: images whose SDK defaults to the regional STS endpoint.
    sts_regional_images: tuple[str, ...] = ()
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    source: str | None = None  # the file this was read from

    def merged(self, **overrides: Any) -> Config:
        """A copy with the given (non-None) values replacing this config's."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


def find_config_file(start: Path) -> Path | None:
    """The nearest `.tfcheck.toml`, or `pyproject.toml` with a `[tool.tfcheck]` table."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for directory in (here, *here.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            if name == "pyproject.toml" and "tool" not in _read_toml(candidate):
                continue
            if name == "pyproject.toml" and "tfcheck" not in _read_toml(candidate)["tool"]:
                continue
            return candidate
    return None


def load_config(path: Path) -> Config:
    data = _read_toml(path)
    table = data.get("tool", {}).get("tfcheck", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.tfcheck] must be a table")
    return config_from_table(table, str(path))


def config_from_table(table: dict[str, Any], source: str) -> Config:
    known = {f.name for f in fields(Config)} - {"source"}
    values: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        key = FLAG_SPELLINGS.get(key, key)
        if key not in known:
            raise ConfigError(f"{source}: unknown key {raw_key!r}")
        values[key] = _coerce(key, value, source)
    return Config(source=source, **values)


def _coerce(key: str, value: Any, source: str) -> Any:
    if key == "fail_on":
        return _severity(value, source, key)
    if key == "severity_overrides":
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a table of rule = severity")
        return {str(rule).upper(): _severity(sev, source, key) for rule, sev in value.items()}
    if key in ("fail_on_unknown", "show_passed"):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key} must be true or false")
        return value
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: {key} must be a list of strings")
    return tuple(value)


def _severity(value: Any, source: str, key: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise ConfigError(f"{source}: {key}: {value!r} is not one of {choices}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
