"""What an `unknown` finding says: the value that was missing, and what would decide it.

The catalog's rule ("Unknown messages"): an `unknown` names the missing value exactly —
`var.cidr_block has no value`, `data.aws_availability_zones.available is read from AWS`,
`aws_iam_role.x.arn is known only after apply` — and the one action that would decide
it, or says that none can. The loaders put the missing value into `Unknown.reason`;
this module turns a reason into those words, for HCL and for plans alike, so that every
policy says it the same way.
"""

from __future__ import annotations

import re

from tfcheck.model import Resource, Unknown

_ADDRESS = r"(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*"
_VARIABLE = re.compile(r"\b(?:variable |var\.)(?P<name>[A-Za-z_][\w-]*) has no value")
_MODULE_INPUT = re.compile(r"module input (?P<name>[\w-]+) of (?P<module>\S+) is not set")
_DATA = re.compile(
    rf"(?P<address>{_ADDRESS}data\.[\w-]+\.[\w-]+(?:\[[^\]]*\])?)"
    r" is read (?:at plan time|from AWS)")
_AFTER_APPLY = re.compile(r"(?P<what>\S+) is known only after apply")
_NOT_ON_DISK = re.compile(r"(?P<module>module\.\S+) is not on disk")
_WRITTEN_IN_TF = re.compile(r" is written only in the \.tf files$")

SCAN_A_PLAN = "scan a plan of this configuration (terraform show -json)"
WITH_SOURCE = "scan the plan with its configuration beside it (--source DIR), which decides it"
NOTHING_BEFORE_APPLY = "no scan before apply can decide it"
# `Result.decided_by` of an unknown that a value of the configuration would decide and
# whose message names no action: on HCL input the engine adds it to the message.
A_PLAN = (f"{SCAN_A_PLAN} or pass its variables (--var-file) to decide")



def managed_elsewhere(what: str) -> str:
    """What to say of a thing this configuration does not manage: no scan of it decides."""
    return f"{what} is managed outside this configuration, so none can decide it from here"


def one_of_instances(reference: str, block: str, configuration_read: bool) -> str:
    """A plan reference that names one instance of a block without saying which.

    terraform records `aws_security_group.bulk[floor(count.index / 3)].id` as
    `aws_security_group.bulk` + `count.index`; the expression itself is only in the
    configuration. `configuration_read`: the .tf files were beside the plan already.
    """
    said = f"{reference} names one instance of {block}, and the plan does not record which"
    if configuration_read:
        return (f"{said}; the configuration beside the plan does not tell either "
                "(it cannot be evaluated without the plan's variables)")
    return f"{said}: {WITH_SOURCE}"


def written_in_tf_files(what: str, references: tuple[str, ...]) -> Unknown:
    """What a plan records only by its references: the expression is in the .tf files.

    `aws_vpc.main.ipv6_cidr_block` and `cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, 200)`
    record the same references; only the configuration's text tells them apart.
    """
    return Unknown(f"{what} is written only in the .tf files", references)


def read_from_aws(resource: Resource, path: str) -> Unknown:
    """A data source's attribute that the configuration does not set: AWS returns it.

    Provider defaults never apply to a data source; in HCL its attributes are unknown
    (a plan holds them in `prior_state`).
    """
    return Unknown(f"{resource.address} is read from AWS ({path})", (resource.address,))


def missing_value(value: Unknown) -> str:
    """The missing value in the catalog's words; the loader's reason where none fits."""
    reason = value.reason
    if match := _VARIABLE.search(reason):
        return f"var.{match['name']} has no value"
    if match := _DATA.search(reason):
        return f"{match['address']} is read from AWS"
    if match := _AFTER_APPLY.search(reason):
        return f"{match['what']} is known only after apply"
    return reason


def deciding_action(value: Unknown, kind: str) -> str | None:
    """The one action that decides the value; None where no scan can (say so instead).

    `kind` is the input's kind: "hcl" or "plan".
    """
    reason = value.reason
    if match := _VARIABLE.search(reason):
        name = match["name"]
        return f"pass it with --var {name}=VALUE or --var-file"
    if _MODULE_INPUT.search(reason):
        return None  # the module call must set it: the configuration is incomplete
    if _NOT_ON_DISK.search(reason):
        return "run terraform init, then scan again"
    if _WRITTEN_IN_TF.search(reason):
        return WITH_SOURCE if kind == "plan" else None
    if _DATA.search(reason):
        return SCAN_A_PLAN + ", which holds what AWS returns" if kind == "hcl" else None
    if _AFTER_APPLY.search(reason):
        return None
    return SCAN_A_PLAN if kind == "hcl" else None


def explain(value: Unknown, kind: str) -> str:
    """`<missing value>: <action>`, or `<missing value>: no scan before apply can ...`."""
    action = deciding_action(value, kind)
    missing = missing_value(value)
    if action is not None:
        return f"{missing}: {action}"
    if _MODULE_INPUT.search(value.reason):
        return f"{missing}: the module call must set it"
    return f"{missing}: {NOTHING_BEFORE_APPLY}"
