"""Override files: `override.tf`, `*_override.tf` (and `.tf.json`) merged the way terraform does.

Terraform loads a module's other files first, then each override file in lexical order;
every top-level block of an override file is merged into the block of the same header
(type and labels) that already exists, and one that matches nothing is an error
(https://developer.hashicorp.com/terraform/language/files/override):

- an attribute replaces the attribute of the same name (meta-arguments too: `count`,
  `for_each`, `provider`, a module's `source`); `for_each` added over a base `count`
  (or the reverse) leaves both, and terraform (1.11) expands the block with `count`
  whichever file wrote it, as the evaluator does;
- nested blocks of a type (or `dynamic` blocks generating it) replace *all* blocks of
  that type, static or dynamic; their contents are not merged;
- a resource's `lifecycle` is merged argument by argument;
- `locals` are overridden one name at a time, whichever `locals` block holds them;
- a default (unaliased) `provider` block without a base is added, an aliased one must
  match; `variable` and `output` merge their arguments, not their nested blocks
  (`validation`, `precondition`);
- `depends_on` may not be overridden (resource, data, output, module), `moved` and
  `import` blocks may not appear; `terraform` blocks merge settings tfcheck does not read.

The merged block keeps its place (file, line) in the primary file; each attribute or
nested block taken from an override file carries that file in `file`, so a finding on it
points where it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import msgspec

from tfcheck.hcl.ast import Attribute, Block, Body, Literal, ParsedFile
from tfcheck.model import InputError

if TYPE_CHECKING:
    from tfcheck.hcl.modules import ModuleDef

_Item = TypeVar("_Item", Attribute, Block)
_Report = Callable[[Attribute | Block, str], None]

_ONLY_PRIMARY = " (an override file can only change what a primary configuration file defines)"
_SUFFIXES = ("_override.tf", "_override.tf.json")
_PRIMARY_ONLY = {
    "moved": "cannot override 'moved' blocks: records of moved objects can appear only "
    "in normal files, not in override files",
    "import": "cannot override 'import' blocks: import blocks can appear only in normal "
    "files, not in override files",
}


def is_override_file(name: str) -> bool:
    """Whether terraform treats a file of this name as an override file."""
    return name in ("override.tf", "override.tf.json") or name.endswith(_SUFFIXES)


def merge_body(base: Body, override: Body, file: str) -> Body:
    """Terraform's general rule: attributes one by one, nested blocks type by type.

    A `dynamic "x"` block counts as a block of type `x` on either side. What comes from
    the override carries `file`.
    """
    attributes = dict(base.attributes)
    for name, attribute in override.attributes.items():
        attributes[name] = _from(attribute, file)
    replaced = {_block_kind(block) for block in override.blocks}
    kept = [block for block in base.blocks if _block_kind(block) not in replaced]
    return Body(attributes, (*kept, *(_from(block, file) for block in override.blocks)))


def _block_kind(block: Block) -> str:
    if block.type == "dynamic" and block.labels:
        return block.labels[0]
    return block.type


def _from(item: _Item, file: str) -> _Item:
    return item if item.file is not None else msgspec.structs.replace(item, file=file)


def _merge_arguments(base: Block, override: Block, file: str) -> Block:
    """`variable` / `output`: arguments replaced, nested blocks the base's own."""
    attributes = dict(base.body.attributes)
    for name, attribute in override.body.attributes.items():
        attributes[name] = _from(attribute, file)
    return msgspec.structs.replace(base, body=Body(attributes, base.body.blocks))


def _merge_resource(base: Block, override: Block, file: str) -> Block:
    """The general rule, except `lifecycle`, which is merged argument by argument."""
    lifecycles = [b for b in override.body.blocks if b.type == "lifecycle"]
    others = tuple(b for b in override.body.blocks if b.type != "lifecycle")
    body = merge_body(base.body, Body(override.body.attributes, others), file)
    if lifecycles:
        old = next((b for b in base.body.blocks if b.type == "lifecycle"), None)
        merged = old or msgspec.structs.replace(lifecycles[0], body=Body(), file=file)
        for extra in lifecycles:
            merged = _merge_arguments(merged, extra, file)
        blocks = [b for b in body.blocks if b.type != "lifecycle"]
        body = Body(body.attributes, (*blocks, merged))
    return msgspec.structs.replace(base, body=body)


def apply_override_file(module: ModuleDef, parsed: ParsedFile) -> list[InputError]:
    """Merge one override file into a module's index; the blocks that match nothing."""
    errors: list[InputError] = []
    file = parsed.path

    def error(item: Attribute | Block, message: str) -> None:
        errors.append(InputError(file, message, item.line, item.column))

    def missing(item: Attribute | Block, what: str, named: str) -> None:
        error(item, f"missing {what} to override: there is no {named}{_ONLY_PRIMARY}")

    for block in parsed.body.blocks:
        kind, labels = block.type, block.labels
        if kind in _PRIMARY_ONLY:
            error(block, _PRIMARY_ONLY[kind])
        elif kind == "locals":
            for name, attribute in block.body.attributes.items():
                if name in module.locals:
                    module.locals[name] = (_from(attribute, file), file)
                else:
                    missing(attribute, "local value", f'local value named "{name}"')
        elif kind in ("resource", "data") and len(labels) >= 2:
            address = f"{labels[0]}.{labels[1]}"
            resource = module.resources.get(address if kind == "resource" else f"data.{address}")
            what = "resource" if kind == "resource" else "data resource"
            if resource is None:
                missing(block, what, f'{labels[0]} {what} named "{labels[1]}"')
            elif _refuses_depends_on(block, error):
                resource.block = _merge_resource(resource.block, block, file)
                resource.overrides = (*resource.overrides, (block, file))
        elif kind == "variable" and labels:
            found = module.variables.get(labels[0])
            if found is None:
                missing(block, "variable", f'variable named "{labels[0]}"')
            else:
                module.variables[labels[0]] = (_merge_arguments(found[0], block, file), found[1])
        elif kind == "output" and labels:
            output = module.outputs.get(labels[0])
            if output is None:
                missing(block, "output", f'output named "{labels[0]}"')
            elif _refuses_depends_on(block, error):
                module.outputs[labels[0]] = (_merge_arguments(output[0], block, file), output[1])
        elif kind == "module" and labels:
            call = module.calls.get(labels[0])
            if call is None:
                missing(block, "module call", f'module call named "{labels[0]}"')
            elif _refuses_depends_on(block, error):
                call.block = msgspec.structs.replace(
                    call.block, body=merge_body(call.block.body, block.body, file)
                )
                call.source = literal_source(call.block)
        elif kind == "provider" and labels and not _merge_provider(module, block, file):
            alias = _provider_key(block)[1]
            missing(block, "provider configuration",
                    f'{labels[0]} provider configuration with the alias "{alias}"')
    return errors


def _refuses_depends_on(block: Block, error: _Report) -> bool:
    """False (and an error) where an override block sets `depends_on`."""
    attribute = block.body.attributes.get("depends_on")
    if attribute is None:
        return True
    error(attribute, "unsupported override: the depends_on argument may not be overridden")
    return False


def _merge_provider(module: ModuleDef, block: Block, file: str) -> bool:
    """Merge a provider block into its base; False for an alias without one."""
    key = _provider_key(block)
    for position, (existing, where) in enumerate(module.providers):
        if _provider_key(existing) == key:
            merged = msgspec.structs.replace(
                existing, body=merge_body(existing.body, block.body, file)
            )
            module.providers[position] = (merged, where)
            return True
    if key[1] is not None:
        return False
    # an absent default configuration is an empty one: the override is all of it
    module.providers.append((block, file))
    return True


def _provider_key(block: Block) -> tuple[str, str | None]:
    alias = block.body.attributes.get("alias")
    name = block.labels[0] if block.labels else ""
    if alias is None:
        return name, None
    value = alias.expr.value if isinstance(alias.expr, Literal) else None
    return name, value if isinstance(value, str) else "?"


def literal_source(block: Block) -> str | None:
    """A module call's `source` where it is a literal string (terraform requires one)."""
    attribute = block.body.attributes.get("source")
    if attribute is not None and isinstance(attribute.expr, Literal):
        value = attribute.expr.value
        return value if isinstance(value, str) else None
    return None


__all__ = ["apply_override_file", "is_override_file", "literal_source", "merge_body"]
