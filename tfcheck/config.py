"""User configuration: `[tool.tfcheck]` in pyproject.toml or `.tfcheck.toml`.

Keys mirror the CLI flags (with underscores), plus the policy tuning knobs. The file is
found by walking up from the scanned path; command-line flags win over it.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import fields, replace

from tfcheck.model import Severity

CONFIG_FILES = (".tfcheck.toml", "pyproject.toml")
# Keys may be spelled like the CLI flags they mirror (`skip-policy = [...]`).
FLAG_SPELLINGS = {"policy": "policies", "skip_policy": "skip_policies"}


class ConfigError(Exception):
    """A config file that cannot be used; the CLI reports it as a user error (exit 2)."""


class Config(msgspec.Struct, frozen=True):
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
    severity_overrides: dict[str, Severity] = msgspec.field(default_factory=dict)
    # Address patterns (`module.platform.*`) of the clusters that must be private; empty:
    # every cluster in the input. Others get no PC1xx-PC5xx findings.
    clusters: tuple[str, ...] = ()
    source: str | None = None  # the file this was read from

    def merged(self, **overrides: Any) -> Config:
        """A copy with the given (non-None) values replacing this config's."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)

    def checks_cluster(self, address: str) -> bool:
        """Whether `clusters` (empty: all) names this cluster address."""
        return not self.clusters or any(fnmatchcase(address, p) for p in self.clusters)

    def warnings(self, known_rules: Collection[str]) -> list[str]:
        """Settings that name nothing: said out loud instead of silently ignored."""
        where = f"{self.source}: " if self.source else ""
        found = []
        known = {rule.upper() for rule in known_rules}
        for rule in self.severity_overrides:
            if rule.upper() not in known:
                found.append(f"{where}severity_overrides: no policy {rule!r}{_hint(rule, known)}; "
                             f"the override is not applied")
        for key in ("required_endpoints", "not_required_endpoints"):
            for service in getattr(self, key):
                name = service.strip()
                if name and name not in KNOWN_ENDPOINT_SERVICES:
                    found.append(f"{where}{key}: {name!r} is not an AWS service endpoint name "
                                 f"tfcheck knows{_hint(name, KNOWN_ENDPOINT_SERVICES)}")
        return found


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
            if name == "pyproject.toml" and "tfcheck" not in _tool_tables(candidate):
                continue
            return candidate
    return None


def _tool_tables(pyproject: Path) -> Any:
    """The `[tool]` table of a pyproject.toml (empty where it has none)."""
    tool = _read_toml(pyproject).get("tool", {})
    return tool if isinstance(tool, dict) else {}


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
            raise ConfigError(f"{source}: unknown key {raw_key!r}{_hint(key, known)}")
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


def _hint(name: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# Service names of AWS PrivateLink endpoints (`com.amazonaws.REGION.NAME`), for telling a
# typo in `required_endpoints` apart from a service tfcheck has not heard of.
_SERVICES_TEXT = """
access-analyzer account acm-pca airflow.api airflow.env airflow.ops amplify
api.ecr api.sagemaker aps aps-workspaces app-integrations appconfig appconfigdata
application-autoscaling applicationinsights appmesh-envoy-management apprunner
apprunner.requests appstream.api appsync-api athena auditmanager autoscaling
autoscaling-plans backup backup-gateway batch bedrock bedrock-agent bedrock-agent-runtime
bedrock-runtime billingconductor braket cassandra cloud9 clouddirectory cloudformation
cloudhsmv2 cloudtrail codeartifact.api codeartifact.repositories codebuild codecommit
codedeploy codedeploy-commands-secure codeguru-profiler codeguru-reviewer
codepipeline codestar-connections.api cognito-identity cognito-idp comprehend
comprehendmedical config console databrew dataexchange datasync datazone dms
dynamodb ebs ec2 ec2messages ecr.api ecr.dkr ecs ecs-agent ecs-telemetry eks eks-auth
elasticache elasticbeanstalk elasticbeanstalk-health elasticfilesystem
elasticfilesystem-fips elasticloadbalancing elasticmapreduce email-smtp emr-containers
emr-serverless es events execute-api firehose fis forecast frauddetector fsx git-codecommit
glue grafana greengrass groundstation guardduty-data healthlake iam identitystore
imagebuilder inspector2 iot.data iot.fleethub.api iotsitewise.api kendra kinesis-firehose
kinesis-streams kms kms-fips lakeformation lambda license-manager logs lookoutequipment
macie2 managedblockchain memory-db mgn monitoring notebook omics.analytics omics.control-storage
omics.storage omics.tags omics.workflows organizations panorama pipes pinpoint polly
private-networks profile qldb.session quicksight-website rds rds-data redshift
redshift-data redshift-serverless rekognition robomaker rolesanywhere route53resolver
rum s3 s3-outposts sagemaker.api sagemaker.featurestore-runtime sagemaker.runtime
scheduler schemas secretsmanager securityhub servicecatalog servicecatalog-appregistry
servicediscovery sms sns sqs ssm ssm-contacts ssm-incidents ssmmessages states
storagegateway streams.dynamodb sts sync-states synthetics tagging textract
timestream.ingest-cell1 timestream.query-cell1 transcribe transcribestreaming
transfer transfer.server translate verifiedpermissions vpc-lattice waf wafv2 workspaces
xray
"""
KNOWN_ENDPOINT_SERVICES = frozenset(_SERVICES_TEXT.split())
