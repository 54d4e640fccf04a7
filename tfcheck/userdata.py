"""Launch-template user data: decode it, and find how it bootstraps an EKS node.

A node without internet access must be told its cluster's API server endpoint and CA
in user data: otherwise the bootstrap calls `eks:DescribeCluster`, which it cannot
reach. User data arrives in layers, and this module peels them off in the order EC2 and
cloud-init do:

1. base64 — a launch template's `user_data` is base64 text (in a plan, and in HCL once
   `base64encode(...)` / `filebase64(...)` is evaluated); plain text is taken as is;
2. gzip — cloud-init accepts gzip-compressed user data (and parts);
3. MIME multipart — `cloudinit_config`, the EKS managed-node-group merge format and
   AL2023 put scripts and `NodeConfig` documents into parts (read with `email`);
4. `#cloud-config` — `runcmd` / `bootcmd` commands.

Then it recognises the four EKS bootstraps:

- AL2: `/etc/eks/bootstrap.sh <cluster> --apiserver-endpoint ... --b64-cluster-ca ...`
  (`--dns-cluster-ip` / `--service-ipv4-cidr` for a custom service CIDR);
- AL2023: a `nodeadm` `NodeConfig` (`apiVersion: node.eks.aws/v1alpha1`) with
  `spec.cluster.apiServerEndpoint`, `certificateAuthority` and `cidr`;
- Windows: `Start-EKSBootstrap.ps1` / `EKS-StartupScript.ps1` with
  `-APIServerEndpoint`, `-Base64ClusterCA` (and `-ServiceCIDR`);
- Bottlerocket: TOML `[settings.kubernetes]` with `api-server`, `cluster-certificate`.

Nothing is executed; shell and PowerShell are only tokenised. Sizes are bounded (gzip
bombs, huge YAML). What cannot be read is reported as a problem naming why, so that
PC501 can answer `unknown` instead of guessing.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
import shlex
import tomllib
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from tfcheck.graph import ResourceGraph
from tfcheck.model import Resource, Unknown, reveal
from tfcheck.workloads import YamlRefused, load_yaml_documents

MAX_USER_DATA_BYTES = 1_000_000  # after decompression; EC2 itself allows 16 KB raw
MAX_MIME_PARTS = 100

# Canonical argument names, and how each bootstrap spells them.
ENDPOINT = "endpoint"
CA = "ca"
SERVICE_CIDR = "service_cidr"
DNS_CLUSTER_IP = "dns_cluster_ip"

AL2 = "al2"
AL2023 = "al2023"
WINDOWS = "windows"
BOTTLEROCKET = "bottlerocket"

SPELLING: dict[str, dict[str, str]] = {
    AL2: {
        ENDPOINT: "--apiserver-endpoint",
        CA: "--b64-cluster-ca",
        SERVICE_CIDR: "--service-ipv4-cidr",
        DNS_CLUSTER_IP: "--dns-cluster-ip",
    },
    AL2023: {
        ENDPOINT: "spec.cluster.apiServerEndpoint",
        CA: "spec.cluster.certificateAuthority",
        SERVICE_CIDR: "spec.cluster.cidr",
    },
    WINDOWS: {
        ENDPOINT: "-APIServerEndpoint",
        CA: "-Base64ClusterCA",
        SERVICE_CIDR: "-ServiceCIDR",
        DNS_CLUSTER_IP: "-DNSClusterIP",
    },
    BOTTLEROCKET: {
        ENDPOINT: "settings.kubernetes.api-server",
        CA: "settings.kubernetes.cluster-certificate",
        DNS_CLUSTER_IP: "settings.kubernetes.cluster-dns-ip",
    },
}

DESCRIPTION = {
    AL2: "Amazon Linux 2 /etc/eks/bootstrap.sh",
    AL2023: "Amazon Linux 2023 nodeadm NodeConfig",
    WINDOWS: "Windows Start-EKSBootstrap.ps1",
    BOTTLEROCKET: "Bottlerocket settings.kubernetes",
}


# -- decoding -------------------------------------------------------------------------


class UserDataPart(msgspec.Struct, frozen=True):
    """One readable piece of user data: a script, a cloud-config, a NodeConfig, TOML."""

    content_type: str  # "text/x-shellscript", "application/node.eks.aws", "" when unsaid
    text: str
    where: str  # "user data", "MIME part 2 (application/node.eks.aws)"


class DecodedUserData(msgspec.Struct, frozen=True):
    """User data with every encoding layer removed."""

    parts: tuple[UserDataPart, ...]
    layers: tuple[str, ...] = ()  # ("base64", "gzip", "MIME multipart")
    problems: tuple[str, ...] = ()  # pieces that could not be read, and why

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts)


def decode_user_data(value: Any) -> DecodedUserData | Unknown:
    """Decode user data as EC2 and cloud-init would; `Unknown` stays `Unknown`.

    Accepts base64 text (what a launch template stores), plain text, gzip, and MIME
    multipart, in any combination. A `Sensitive` value is decoded for the decision only.
    """
    value = reveal(value)
    if isinstance(value, Unknown):
        if value.partial is None:
            return value
        value = value.partial  # a template rendered around unknowns
    if value is None:
        return DecodedUserData(())
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("utf-8", errors="surrogateescape")
    else:
        return Unknown(f"user data is a {type(value).__name__}, not text")
    layers: list[str] = []
    decoded = _maybe_base64(raw)
    if decoded is not None:
        raw = decoded
        layers.append("base64")
    try:
        raw, gzipped = _maybe_gunzip(raw)
    except ValueError as error:
        return DecodedUserData((), tuple(layers), (str(error),))
    if gzipped:
        layers.append("gzip")
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return DecodedUserData((), tuple(layers))
    if _is_mime(text):
        layers.append("MIME multipart")
        parts, problems = _mime_parts(text)
        return DecodedUserData(tuple(parts), tuple(layers), tuple(problems))
    return DecodedUserData((UserDataPart(_sniff_type(text), text, "user data"),), tuple(layers))


def _maybe_base64(raw: bytes) -> bytes | None:
    """The decoded bytes if `raw` is base64 of text or gzip, else None (plain text)."""
    compact = re.sub(rb"\s+", b"", raw)
    if not compact or len(compact) % 4 or not re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", compact):
        return None
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if decoded[:2] == b"\x1f\x8b":
        return decoded
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # plain words like "abcd" are valid base64 too: accept only printable results
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return decoded if text and printable / len(text) > 0.95 else None


def _maybe_gunzip(raw: bytes) -> tuple[bytes, bool]:
    if raw[:2] != b"\x1f\x8b":
        return raw, False
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, MAX_USER_DATA_BYTES + 1)
    except zlib.error as error:
        raise ValueError(f"gzip-compressed user data could not be decompressed ({error})"
                         ) from None
    if len(out) > MAX_USER_DATA_BYTES or inflater.unconsumed_tail:
        raise ValueError(f"gzip-compressed user data expands beyond {MAX_USER_DATA_BYTES} "
                         f"bytes")
    return out, True


def _is_mime(text: str) -> bool:
    head = text.lstrip()[:2000].lower()
    return head.startswith(("mime-version:", "content-type: multipart/")) or (
        "content-type: multipart/" in head and "boundary=" in head
    )


def _mime_parts(text: str) -> tuple[list[UserDataPart], list[str]]:
    message = email.message_from_string(text.lstrip(), policy=email.policy.compat32)
    parts: list[UserDataPart] = []
    problems: list[str] = []
    number = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        number += 1
        if number > MAX_MIME_PARTS:
            problems.append(f"more than {MAX_MIME_PARTS} MIME parts")
            break
        content_type = part.get_content_type()
        where = f"MIME part {number} ({content_type})"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            problems.append(f"{where} has no readable payload")
            continue
        try:
            payload, _ = _maybe_gunzip(payload)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            body = payload.decode(charset, errors="replace")
        except LookupError:
            body = payload.decode("utf-8", errors="replace")
        if content_type in ("text/x-include-url", "text/x-include-once-url") or (
            body.lstrip().startswith("#include")
        ):
            problems.append(f"{where} includes user data from a URL")
        parts.append(UserDataPart(content_type, body, where))
    if not parts and not problems:
        problems.append("MIME user data without readable parts")
    return parts, problems


def _sniff_type(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("#cloud-config"):
        return "text/cloud-config"
    if stripped.startswith("#include"):
        return "text/x-include-url"
    if stripped.startswith("#!"):
        return "text/x-shellscript"
    if stripped.lower().startswith(("<powershell>", "<script>", "<persist>")):
        return "text/x-powershell"
    if re.search(r"^\s*kind:\s*NodeConfig\b", text, re.M):
        return "application/node.eks.aws"
    if re.search(r"^\s*\[settings\.", text, re.M):
        return "application/toml"
    return ""


# -- bootstrap invocations ----------------------------------------------------------


class Bootstrap(msgspec.Struct, frozen=True):
    """One EKS bootstrap found in user data, with the arguments it passes.

    `arguments` maps canonical names (`endpoint`, `ca`, `service_cidr`,
    `dns_cluster_ip`) to the value as written (after resolving script variables where
    the script assigns them); a value of `None` means "passed, value not known here"
    (an unresolved `$VAR` or `${template}` placeholder). `unresolved` lists variables
    in the argument list that the script does not define — they may expand to more
    arguments. `notes` record forms the bootstrap does not read
    (`--apiserver-endpoint=...`).
    """

    kind: str
    cluster_name: str | None
    arguments: Mapping[str, str | None]
    where: str
    unresolved: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def has(self, name: str) -> bool:
        """Whether the argument is passed with a non-empty (or unknown) value."""
        if name not in self.arguments:
            return False
        value = self.arguments[name]
        return value is None or value.strip() != ""

    def spelling(self, name: str) -> str:
        return SPELLING[self.kind].get(name, name)

    @property
    def is_fragment(self) -> bool:
        """Settings without any cluster setting: a fragment, not a bootstrap.

        The partial NodeConfig or Bottlerocket TOML that EKS merges into its own for a
        managed node group.
        """
        return self.kind in (AL2023, BOTTLEROCKET) and self.cluster_name is None and (
            not self.arguments)

    @property
    def description(self) -> str:
        return DESCRIPTION[self.kind]


def find_bootstraps(decoded: DecodedUserData) -> tuple[list[Bootstrap], list[str]]:
    """Every EKS bootstrap in decoded user data, and problems reading it.

    NodeConfig documents are merged, as `nodeadm` merges them, into one bootstrap.
    """
    found: list[Bootstrap] = []
    problems: list[str] = []
    node_configs: list[tuple[dict[str, Any], str]] = []
    for part in decoded.parts:
        for script, where in _scripts_of(part, problems):
            found.extend(_al2_calls(script, where))
            found.extend(_windows_calls(script, where))
        configs, why = _node_configs(part)
        node_configs.extend(configs)
        problems.extend(why)
        bottlerocket = _bottlerocket(part)
        if bottlerocket is not None:
            found.append(bottlerocket)
    if node_configs:
        found.insert(0, _merge_node_configs(node_configs))
    return found, problems


def _without_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def bootstraps_eks(decoded: DecodedUserData) -> bool:
    """Whether user data mentions any EKS bootstrap outside comments (cheap test)."""
    return bool(
        re.search(r"bootstrap\.sh|Start-EKSBootstrap|EKS-StartupScript|node\.eks\.aws"
                  r"|NodeConfig|\[settings\.kubernetes\]", _without_comments(decoded.text), re.I)
    )


_DESCRIBE_CLUSTER = re.compile(
    r"\baws\s+eks\s+describe-cluster\b|\bGet-EKSCluster\b|\bdescribe_cluster\s*\(", re.I)


def describes_cluster(decoded: DecodedUserData) -> str | None:
    """Where user data asks the EKS API for the cluster itself (`aws eks describe-cluster`).

    Passing the endpoint and CA is pointless when the script fetches them from the EKS
    API first: the node still needs to reach it. Returns the part and line, or None.
    """
    for part in decoded.parts:
        for number, line in enumerate(part.text.splitlines(), 1):
            if not line.lstrip().startswith("#") and _DESCRIBE_CLUSTER.search(line):
                return f"{part.where}, line {number}"
    return None


def _scripts_of(part: UserDataPart, problems: list[str]) -> Iterator[tuple[str, str]]:
    """Shell/PowerShell text of a part: the part itself, or a cloud-config's commands."""
    if part.content_type in ("text/cloud-config", "text/cloud-config-archive") or (
        part.text.lstrip().startswith("#cloud-config")
    ):
        try:
            documents = load_yaml_documents(part.text)
        except YamlRefused as error:
            problems.append(f"{part.where}: cloud-config could not be read: {error}")
            return
        for document in documents[:1]:
            if not isinstance(document, dict):
                continue
            for key in ("runcmd", "bootcmd"):
                commands = document.get(key)
                if not isinstance(commands, list):
                    continue
                for index, command in enumerate(commands):
                    where = f"{part.where} cloud-config {key}[{index}]"
                    if isinstance(command, str):
                        yield command, where
                    elif isinstance(command, list):
                        yield " ".join(shlex.quote(str(word)) for word in command), where
            files = document.get("write_files")
            if isinstance(files, list):
                for index, item in enumerate(files):
                    if isinstance(item, dict) and isinstance(item.get("content"), str):
                        yield item["content"], f"{part.where} cloud-config write_files[{index}]"
        return
    if part.content_type in ("application/node.eks.aws", "application/toml"):
        return
    yield part.text, part.where


# AL2 ---------------------------------------------------------------------------------

_AL2_CALL = re.compile(r"(?:^|[\s;&|(`'\"])(?P<path>(?:[\w./${}-]*/)?bootstrap\.sh)(?=\s|$|;|&|\|)")
# bootstrap.sh flags that take no value
_AL2_SWITCHES = frozenset({"-h", "--help"})
_AL2_CANONICAL = {v: k for k, v in SPELLING[AL2].items()}
_SHELL_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+|readonly\s+|local\s+|declare\s+(?:-\w+\s+)?)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$"
)
_SHELL_VARIABLE = re.compile(r"\$\{(?P<braced>[^}]*)\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)")


def _logical_lines(script: str) -> list[str]:
    """Lines with backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\r?\n", " ", script)
    lines = []
    for line in joined.splitlines():
        if line.lstrip().startswith("#"):
            lines.append("")
            continue
        lines.append(line)
    return lines


def _al2_calls(script: str, where: str) -> list[Bootstrap]:
    if "bootstrap.sh" not in script:
        return []
    lines = _logical_lines(script)
    calls: list[Bootstrap] = []
    for number, line in enumerate(lines):
        for match in _AL2_CALL.finditer(line):
            # the command the path belongs to starts after the last separator
            command = re.split(r";|&&|\|\||\||\bthen\b|\bdo\b|\belse\b",
                               line[: match.start("path")])[-1]
            if _MENTION.search(command):
                continue  # the script is tested for, copied or printed, not run
            variables = _shell_variables(lines[:number])
            rest = line[match.end("path"):]
            calls.append(_parse_al2(rest, variables, f"{where}, line {number + 1}"))
    return calls


# commands that name bootstrap.sh without running it: `[ -f ... ]`, `test -x`, `echo`, ...
_MENTION = re.compile(
    r"(\[\[?\s*(!\s*)?-\w\s*$)|\b(echo|printf|cat|chmod|chown|ls|cp|mv|rm|sed|grep|awk|"
    r"test|curl|wget|stat|which|command|type|tee|diff|install)\b"
)


def _shell_variables(lines: list[str]) -> dict[str, str]:
    """`NAME=value` assignments before a line, last one wins, quotes removed."""
    variables: dict[str, str] = {}
    for line in lines:
        match = _SHELL_ASSIGNMENT.match(line)
        if match is None:
            continue
        raw = match.group("value").strip()
        try:
            words = shlex.split(raw, comments=True) if raw else [""]
        except ValueError:
            words = [raw]
        variables[match.group("name")] = _expand(words[0] if words else "", variables)[0]
    return variables


def _expand(text: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace `$NAME` / `${NAME}` by known values; also report the unknown names."""
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain") or ""
        if name in variables:
            return variables[name]
        unknown.append(name)
        return match.group(0)

    return _SHELL_VARIABLE.sub(substitute, text), unknown


def _split_command(text: str) -> list[str]:
    """Words of one shell command, stopping at `;`, `&&`, `||`, `|`, `)` or `&`."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    try:
        for token in lexer:
            if token and set(token) <= set(";&|()"):
                break
            words.append(token)
    except ValueError:  # an unclosed quote: fall back to whitespace
        words = re.split(r"\s+", re.split(r"[;&|]", text, maxsplit=1)[0].strip())
    return [w for w in words if w != ""] if words != [""] else []


def _parse_al2(rest: str, variables: Mapping[str, str], where: str) -> Bootstrap:
    words = _split_command(rest)
    arguments: dict[str, str | None] = {}
    positional: list[str] = []
    unresolved: list[str] = []
    notes: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        expanded, unknown = _expand(word, variables)
        if word.startswith("-"):
            flag, eq, inline = word.partition("=")
            if eq and flag in _AL2_CANONICAL:
                notes.append(f"{flag}=... is ignored: bootstrap.sh reads '{flag} VALUE'")
                index += 1
                continue
            if flag in _AL2_SWITCHES:
                index += 1
                continue
            value_word = words[index + 1] if index + 1 < len(words) else None
            index += 2
            if flag in _AL2_CANONICAL:
                arguments[_AL2_CANONICAL[flag]] = _argument_value(value_word, variables)
            continue
        if unknown and expanded == word and re.fullmatch(r"\$\{?[^}\s]*\}?", word):
            # a bare variable may expand to several arguments (extra args)
            unresolved.extend(unknown)
            index += 1
            continue
        if unknown or expanded != word:
            # a variable that the script defines: re-split it, it may hold several words
            more = _split_command(expanded)
            if len(more) > 1:
                words[index:index + 1] = more
                continue
        positional.append(expanded)
        index += 1
    cluster = positional[0] if positional else None
    if cluster is not None and _SHELL_VARIABLE.search(cluster):
        cluster = None
    return Bootstrap(AL2, cluster, arguments, where, tuple(unresolved), tuple(notes))


def _argument_value(word: str | None, variables: Mapping[str, str]) -> str | None:
    """The value of a flag as written; None where it is a placeholder or unknown variable."""
    if word is None:
        return ""
    expanded, unknown = _expand(word, variables)
    if unknown:
        return None
    return expanded


# Windows -----------------------------------------------------------------------------

_WINDOWS_SCRIPT = re.compile(r"Start-EKSBootstrap(?:\.ps1)?|EKS-StartupScript(?:\.ps1)?", re.I)
_WINDOWS_CANONICAL = {v.lstrip("-").lower(): k for k, v in SPELLING[WINDOWS].items()}
_PS_ASSIGNMENT = re.compile(
    r"^\s*(?:\[[\w.]+\]\s*)?\$(?P<name>[A-Za-z_][\w]*)\s*=\s*(?P<value>.+?)\s*$"
)
_PS_PARAMETER = re.compile(
    r"(?:^|\s)-(?P<name>[A-Za-z][\w]*)(?::|\s+)?(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"'-][^\s]*)?"
)


def _windows_calls(script: str, where: str) -> list[Bootstrap]:
    if not _WINDOWS_SCRIPT.search(script):
        return []
    joined = re.sub(r"`\r?\n", " ", script)  # PowerShell line continuation
    lines = joined.splitlines()
    variables: dict[str, str] = {}
    calls: list[Bootstrap] = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        assignment = _PS_ASSIGNMENT.match(line)
        if assignment is not None and not re.search(r"-EKSClusterName", line, re.I):
            variables[assignment.group("name").lower()] = _ps_unquote(
                assignment.group("value"), variables)
            continue
        if not _invokes_windows_bootstrap(line, variables):
            continue
        calls.append(_parse_windows(line, variables, f"{where}, line {number + 1}"))
    return calls


def _invokes_windows_bootstrap(line: str, variables: Mapping[str, str]) -> bool:
    """`& $EKSBootstrapScriptFile -EKSClusterName ...` or `& "...Start-EKSBootstrap.ps1" ...`."""
    if re.search(r"-EKSClusterName\b", line, re.I):
        return True
    if _WINDOWS_SCRIPT.search(line) and re.match(r"^\s*[&.]", line):
        return True
    call = re.match(r"^\s*&\s*\$(\w+)", line)
    return bool(call and _WINDOWS_SCRIPT.search(variables.get(call.group(1).lower(), "")))


def _ps_unquote(value: str, variables: Mapping[str, str]) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1).lower(), m.group(0)), value)


def _parse_windows(line: str, variables: Mapping[str, str], where: str) -> Bootstrap:
    arguments: dict[str, str | None] = {}
    cluster: str | None = None
    unresolved: list[str] = []
    for match in _PS_PARAMETER.finditer(line):
        name = match.group("name").lower()
        raw = match.group("value")
        value: str | None
        if raw is None:
            value = ""
        else:
            value = _ps_unquote(raw, variables) if raw[0] in "\"'" else raw
            if re.search(r"\$\{[^}]*\}|\$\w+", value):
                bare = re.fullmatch(r"\$(\w+)", value)
                if bare and bare.group(1).lower() in variables:
                    value = variables[bare.group(1).lower()]
                else:
                    value = None  # a placeholder or a variable the script does not define
        if name in _WINDOWS_CANONICAL:
            arguments[_WINDOWS_CANONICAL[name]] = value
        elif name == "eksclustername":
            cluster = value
    for bare in re.findall(r"(?:^|\s)@(\w+)", line):  # splatting: @params
        unresolved.append(bare)
    return Bootstrap(WINDOWS, cluster, arguments, where, tuple(unresolved))


# AL2023 nodeadm ----------------------------------------------------------------------


# Stands for a `${...}` placeholder while a document is parsed: the loader renders
# templates around values known only after apply as `${expression}`, and an expression
# may hold characters (`: `, quotes, `#`) that would break YAML or TOML.
PLACEHOLDER = "__tfcheck_unknown__"


def mask_placeholders(text: str) -> str:
    """`text` with every `${...}` (braces balanced, quoted strings skipped) masked.

    The names of a NodeConfig's or Bottlerocket's settings decide PC501, not their
    values: `apiServerEndpoint: ${aws_eks_cluster.main.endpoint}` passes the endpoint.
    """
    out: list[str] = []
    index = 0
    while True:
        start = text.find("${", index)
        if start < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:start])
        depth = 0
        quote = ""
        end = start + 1
        while end < len(text):
            char = text[end]
            if quote:
                if char == "\\":
                    end += 1
                elif char == quote:
                    quote = ""
            elif char == '"':
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    break
            elif char == "\n":
                break  # not an expression after all: leave the rest as it is
            end += 1
        if end >= len(text) or text[end] != "}":
            out.append("${")
            index = start + 2
            continue
        out.append(PLACEHOLDER)
        index = end + 1


def _node_configs(part: UserDataPart) -> tuple[list[tuple[dict[str, Any], str]], list[str]]:
    text = mask_placeholders(part.text)
    if part.content_type != "application/node.eks.aws" and not re.search(
        r"^\s*kind:\s*['\"]?NodeConfig\b", text, re.M
    ):
        return [], []
    try:
        documents = load_yaml_documents(text)
    except YamlRefused as error:
        return [], [f"{part.where}: NodeConfig could not be read: {error}"]
    found = []
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "NodeConfig":
            found.append((document, part.where))
    if not found and part.content_type == "application/node.eks.aws":
        return [], [f"{part.where}: no NodeConfig document in a node.eks.aws part"]
    return found, []


def _merge_node_configs(configs: list[tuple[dict[str, Any], str]]) -> Bootstrap:
    names = {"apiServerEndpoint": ENDPOINT, "certificateAuthority": CA, "cidr": SERVICE_CIDR}
    arguments: dict[str, str | None] = {}
    cluster: str | None = None
    for document, _ in configs:
        spec = document.get("spec")
        cluster_spec = spec.get("cluster") if isinstance(spec, dict) else None
        if not isinstance(cluster_spec, dict):
            continue
        for key, canonical in names.items():
            if key in cluster_spec:
                arguments[canonical] = _yaml_scalar(cluster_spec[key])
        if "name" in cluster_spec:
            cluster = _yaml_scalar(cluster_spec["name"])
    where = ", ".join(sorted({w for _, w in configs}))
    return Bootstrap(AL2023, cluster, arguments, where)


def _yaml_scalar(value: Any) -> str | None:
    if value is None:
        return ""
    text = str(value)
    return None if PLACEHOLDER in text or re.search(r"\$\{[^}]*\}", text) else text


# Bottlerocket -------------------------------------------------------------------------


def _bottlerocket(part: UserDataPart) -> Bootstrap | None:
    text = mask_placeholders(part.text)
    if not re.search(r"^\s*\[settings\.kubernetes\]", text, re.M):
        return None
    settings: dict[str, Any] = {}
    try:
        settings = tomllib.loads(text).get("settings", {}).get("kubernetes", {})
    except (tomllib.TOMLDecodeError, AttributeError):
        section = re.split(r"^\s*\[settings\.kubernetes\]\s*$", text, maxsplit=1, flags=re.M)
        body = re.split(r"^\s*\[", section[-1], maxsplit=1, flags=re.M)[0]
        for match in re.finditer(r"^\s*\"?([\w-]+)\"?\s*=\s*(.+?)\s*$", body, re.M):
            settings[match.group(1)] = match.group(2).strip().strip("\"'")
    if not isinstance(settings, dict):
        return None
    names = {"api-server": ENDPOINT, "cluster-certificate": CA, "cluster-dns-ip": DNS_CLUSTER_IP}
    arguments: dict[str, str | None] = {}
    for key, canonical in names.items():
        if key in settings:
            value = settings[key]
            arguments[canonical] = _yaml_scalar(value[0] if isinstance(value, list) and value
                                                else value)
    cluster = settings.get("cluster-name")
    return Bootstrap(BOTTLEROCKET, str(cluster) if isinstance(cluster, str) else None,
                     arguments, part.where)


# -- convenience ----------------------------------------------------------------------


class UserDataReading(msgspec.Struct, frozen=True):
    """Everything PC501 needs from one user-data value."""

    decoded: DecodedUserData | Unknown
    bootstraps: tuple[Bootstrap, ...] = ()
    problems: tuple[str, ...] = msgspec.field(default_factory=tuple)

    @property
    def describe_cluster(self) -> str | None:
        """Where the user data calls the EKS API itself, if it does."""
        if isinstance(self.decoded, DecodedUserData):
            return describes_cluster(self.decoded)
        return None

    @property
    def mentions_eks(self) -> bool:
        return isinstance(self.decoded, DecodedUserData) and (
            bool(self.bootstraps) or bootstraps_eks(self.decoded)
        )


def read_user_data(value: Any) -> UserDataReading:
    """Decode user data and find its bootstraps in one step."""
    decoded = decode_user_data(value)
    if isinstance(decoded, Unknown):
        return UserDataReading(decoded)
    bootstraps, problems = find_bootstraps(decoded)
    return UserDataReading(decoded, tuple(bootstraps), (*decoded.problems, *problems))


# -- where the user data comes from -----------------------------------------------


class UserDataSource(msgspec.Struct, frozen=True):
    """A launch template's user data and where it was read.

    `problems` name pieces that could not be read (a `cloudinit_config` part known
    only after apply): a bootstrap found elsewhere may still be complete, but missing
    arguments could sit in them.
    """

    value: Any
    origin: str  # "plan", "HCL", "data.cloudinit_config.x"
    problems: tuple[str, ...] = ()


def user_data_source(graph: ResourceGraph, template: Resource) -> UserDataSource:
    """The user data of a launch template (or launch configuration).

    In a plan of a new cluster the user data is "known after apply" when it embeds the
    cluster's endpoint: it stays `Unknown` there (the .tf files beside a plan give
    findings their lines, never other verdicts; scanning the HCL decides it, because the
    HCL loader renders templates around unknown values, `Unknown.partial`). A launch
    configuration's `user_data` is a SHA-1 hash in plans; likewise `Unknown`.
    """
    origin = "HCL" if graph.kind == "hcl" else "plan"
    value = template.values.get("user_data")
    if template.type == "aws_launch_configuration":
        plain = reveal(value)
        if plain is None:
            value = template.values.get("user_data_base64")
        elif graph.kind == "plan" and isinstance(plain, str) and re.fullmatch(
            r"[0-9a-f]{40}", plain
        ):
            value = Unknown("a plan stores a launch configuration's user_data as a SHA-1 "
                            "hash; scan the HCL to read it")
    if _undecodable(value):
        assembled = _from_cloudinit(graph, template, value)
        if assembled is not None:
            return assembled
    return UserDataSource(value, origin)


CLOUDINIT_TYPES = ("cloudinit_config", "template_cloudinit_config")
_BOUNDARY = "TFCHECKBOUNDARY"


def _from_cloudinit(graph: ResourceGraph, template: Resource, value: Any
                    ) -> UserDataSource | None:
    """User data rebuilt from the `cloudinit_config` it is rendered from.

    The cloudinit provider renders `part` blocks into MIME multipart; its `rendered`
    attribute is known only once the provider runs, but the parts are configuration.
    A part whose content is not known (and not partially rendered) is left out and
    named in `problems`.
    """
    sources = [r for r in graph.references(template, "user_data")
               + graph.references(template, "user_data_base64")
               if r.type in CLOUDINIT_TYPES]
    if not sources and isinstance(reveal(value), Unknown):
        names = {ref.split(".rendered")[0] for ref in reveal(value).references}
        sources = [r for r in graph.resources(*CLOUDINIT_TYPES) if r.address in names]
    if len(sources) != 1:
        return None
    source = sources[0]
    raw_parts = reveal(source.values.get("part"))
    if not isinstance(raw_parts, list) or not raw_parts:
        return None
    pieces = ["MIME-Version: 1.0",
              f'Content-Type: multipart/mixed; boundary="{_BOUNDARY}"', ""]
    problems: list[str] = []
    for index, part in enumerate(raw_parts):
        part = reveal(part)
        if not isinstance(part, dict):
            continue
        content = reveal(part.get("content"))
        if isinstance(content, Unknown):
            content = content.partial
        content_type = reveal(part.get("content_type"))
        if not isinstance(content, str):
            problems.append(f"{source.address} part {index + 1} is not known before apply")
            continue
        kind = content_type if isinstance(content_type, str) else "text/plain"
        pieces += [f"--{_BOUNDARY}", f"Content-Type: {kind}", "", content]
    pieces.append(f"--{_BOUNDARY}--")
    return UserDataSource("\n".join(pieces), source.address, tuple(problems))


def _undecodable(value: Any) -> bool:
    value = reveal(value)
    return isinstance(value, Unknown) and value.partial is None
