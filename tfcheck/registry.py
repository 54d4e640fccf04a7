"""Policy packs: the built-in one and third-party packs, all via the entry-point group.

A pack is any installed distribution that declares, in its packaging metadata,
`[project.entry-points."tfcheck.policies"] name = "module:SEQUENCE_OF_POLICIES"`.
The built-in pack registers itself the same way (as `builtin`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points

from msgspec.structs import replace

from tfcheck.config import ConfigError
from tfcheck.model import InternalError
from tfcheck.policy import Policy

ENTRY_POINT_GROUP = "tfcheck.policies"
BUILTIN_PACK = "tfcheck_policies"
BUILTIN_PACK_NAME = "builtin"


def load_policies() -> tuple[list[Policy], list[InternalError]]:
    """Every installed policy, ordered by ID; a pack that fails to load is reported."""
    policies: dict[str, Policy] = {}
    errors: list[InternalError] = []
    found_builtin = False
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name != "builtin"):
        found_builtin = found_builtin or entry.value.startswith(BUILTIN_PACK)
        try:
            pack = entry.load()
        except Exception as error:  # a broken third-party pack must not stop the scan
            errors.append(InternalError(_pack_where(entry.name), f"cannot be loaded: "
                                                                 f"{error!r}"))
            continue
        _add_pack(policies, pack, entry.name, errors)
    if not found_builtin:  # running from a source tree without an install
        pack = importlib.import_module(BUILTIN_PACK).ALL_POLICIES
        _add_pack(policies, pack, BUILTIN_PACK_NAME, errors)
    return sorted(policies.values(), key=lambda p: p.id), errors


def _add_pack(policies: dict[str, Policy], pack: object, name: str,
              errors: list[InternalError]) -> None:
    where = _pack_where(name)
    if not isinstance(pack, Iterable):
        errors.append(InternalError(where, "is not a sequence of policies"))
        return
    for item in pack:
        if not isinstance(item, Policy):
            errors.append(InternalError(where, f"{item!r} is not a Policy"))
        elif item.id in policies:
            errors.append(InternalError(where, f"{item.id} is already defined by pack "
                                               f"{policies[item.id].pack!r}; ignored"))
        else:
            policies[item.id] = replace(item, pack=name)


def _pack_where(name: str) -> str:
    """How errors name a pack; third-party ones say so, so nobody blames tfcheck."""
    return "policy pack builtin" if name == BUILTIN_PACK_NAME else \
        f"third-party policy pack {name!r}"


def select_policies(policies: Sequence[Policy], only: Sequence[str],
                    skip: Sequence[str]) -> list[Policy]:
    """The policies `--policy`/`--skip-policy` leave; an unknown ID or slug is an error."""
    for selector in (*only, *skip):
        if not any(p.matches(selector) for p in policies):
            raise ConfigError(f"unknown policy {selector!r} (see `tfcheck policies`)")
    chosen = [p for p in policies if not only or any(p.matches(s) for s in only)]
    return [p for p in chosen if not any(p.matches(s) for s in skip)]


def split_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """`["PC301,PC401", "PC102"]` -> `("PC301", "PC401", "PC102")`."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())
