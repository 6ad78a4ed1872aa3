"""Read the stack's config once, validate all of it, and resolve it into `Settings`.

This is the only module that calls `pulumi.Config`. It registers nothing: when any value is
wrong it raises `ConfigError` listing every problem, before a single resource (not even a
provider) exists. The steps, each in its own module: the schema (`schema.py`, its errors in the
user's words by `problems.py`), the rules between keys and on disk (`rules/`), the read-only
account look-ups (`account.py`: account id, bucket owner, cluster edition, RRSA, worker vSwitches)
for a valid config only, whose findings are reported the same way, and the derived values
(`derived.py`). Warnings are logged only once nothing stops the run.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from settings import Settings

from . import account, derived, rules, schema
from .derived import parse_model_source
from .errors import ConfigError, Problem
from .problems import allowed_keys, format_validation_error
from .rules.gpu import runtime_of
from .yaml_files import read_yaml

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"

# The regions the alicloud provider accepts: it refuses any other at start-up ("Invalid Alibaba
# Cloud region", unless skip_region_validation) - terraform-provider-alicloud
# alicloud/connectivity/regions.go `ValidRegions` L66-79 and config.go `validateRegion` L219-228,
# at ace5bcf87 on release/v2 (the line pulumi-alicloud 4.0.0 bridges; the same as on master).
PROVIDER_REGIONS = (
    "cn-hangzhou", "cn-qingdao", "cn-beijing", "cn-shenzhen", "cn-hongkong", "cn-shanghai",
    "cn-zhangjiakou", "cn-huhehaote", "cn-chengdu", "cn-heyuan", "cn-wulanchabu", "cn-guangzhou",
    "cn-nanjing", "cn-fuzhou", "cn-zhongwei",
    "us-west-1", "us-east-1", "us-southeast-1", "na-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-southeast-8", "ap-south-1",
    "me-east-1", "me-central-1", "eu-central-1", "eu-west-1", "rus-west-1", "cn-north-2-gov-1",
    "cn-shenzhen-finance-1", "cn-szfinance", "cn-shenzhen-finance", "cn-shanghai-finance-1-pub",
    "cn-shanghai-finance-1", "cn-hangzhou-finance", "cn-hzfinance", "cn-hzjbp", "cn-beijing-finance-1",
    "cn-beijing-finance-1-pub",
)
# Config namespaces something in this stack reads: the providers it uses, and Pulumi's own.
PROVIDER_NAMESPACES = ("alicloud", "kubernetes", "pulumi")
# The keys the alicloud provider reads from its namespace: its configuration schema as the 4.0.0
# SDK generates it (pulumi_alicloud/config/vars.py, every `__config__.get('<key>')`; a test keeps
# this list equal to that file). Any other `alicloud:` key is read by nothing.
ALICLOUD_KEYS = (
    "accessKey", "accountId", "accountType", "assumeRole", "assumeRoleWithOidc", "clientConnectTimeout",
    "clientReadTimeout", "configurationSource", "credentialsUri", "ecsRoleName", "endpoints", "fc", "features",
    "logEndpoint", "maxRetryTimeout", "mnsEndpoint", "otsInstanceName", "profile", "protocol", "region",
    "secretKey", "secureTransport", "securityToken", "securityTransport", "sharedCredentialsFile", "signVersion",
    "skipRegionValidation", "sourceIp",
)
# Provider settings that are credentials: never in plain text in a stack file.
CREDENTIAL_KEYS = {"alicloud:accessKey": "ALICLOUD_ACCESS_KEY", "alicloud:secretKey": "ALICLOUD_SECRET_KEY",
                   "alicloud:securityToken": "ALICLOUD_SECURITY_TOKEN"}

def load_project_schema(path: Path = PROJECT_FILE) -> dict[str, dict[str, Any]]:
    """The `config:` declarations of Pulumi.yaml, keyed by the bare key name."""
    project = read_yaml(path)
    declared = {}
    for key, decl in (project.get("config") or {}).items():
        if ":" in key and not key.startswith(project["name"] + ":"):
            continue  # another namespace's value, not a schema of ours
        declared[key.split(":", 1)[-1]] = decl if isinstance(decl, dict) else {"value": decl}
    return declared


def _coerce_declared(key: str, raw: str, decl: dict) -> Any:
    """The CLI hands every value over as a string; give it the type Pulumi.yaml declares."""
    kind = decl.get("type")
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.strip().lower(), raw)
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "array":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _decode_object(raw: Any) -> Any:
    """Object keys arrive as JSON text (`pulumi config set --path` writes them that way)."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # reported by the schema as 'should be a valid dictionary'


def all_config_keys() -> list[str]:
    """Every `namespace:key` the stack sets (see `project_keys` for why the runtime's map)."""
    return sorted(set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env()))


def project_keys(project: str) -> list[str]:
    """Every key set under `<project>:` for this stack (bare names).

    The Python SDK offers no public listing of config keys; the runtime's map (filled by the
    language host, or by tests through set_all_config) is the one place that has them all,
    and a listing is the only way to reject a misspelled top-level key.
    """
    prefix = project + ":"
    return [k[len(prefix):] for k in all_config_keys() if k.startswith(prefix)]


def read_raw_config(project: str, declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every key set under `<project>:` for this stack, typed, with Pulumi.yaml defaults."""
    prefix = project + ":"
    names = set(project_keys(project))
    raw: dict[str, Any] = {}
    for name in sorted(names | set(declared)):
        # The runtime's own getter: Config.get would log a warning for a key set as a secret.
        value = runtime_config.get_config(prefix + name)
        if value is None:
            if "default" in declared.get(name, {}):
                raw[name] = declared[name]["default"]
            continue
        raw[name] = _coerce_declared(name, value, declared[name]) if name in declared else (
            _decode_object(value)
        )
    return raw


def secret_keys(project: str) -> set[str]:
    """Top-level keys of ours that were set with --secret: their values are never echoed."""
    return {k for k in project_keys(project) if runtime_config.is_config_secret(f"{project}:{k}")}


def region_problem(region: Optional[str], keys: Sequence[str] = ()) -> Optional[Problem]:
    """`alicloud:region` must be set and be one the provider accepts."""
    if not region:
        near = difflib.get_close_matches("alicloud:region", [k for k in keys if k.startswith("alicloud:")], n=1,
                                         cutoff=0.7)
        return ("alicloud:region", "is required: `pulumi config set alicloud:region cn-beijing`"
                + (f" ({near[0]} is set: a misspelling of it?)" if near else ""))
    if region in PROVIDER_REGIONS:
        return None
    hint = difflib.get_close_matches(region, PROVIDER_REGIONS, n=1, cutoff=0.6)
    return ("alicloud:region", f"{region!r} is not a region the alicloud provider accepts"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + "; region ids look like cn-beijing, cn-hangzhou, ap-southeast-1, eu-central-1")


def provider_key_problem(key: str, project: str) -> Optional[Problem]:
    """A key under a provider's namespace that the provider does not read. `alicloud:` keys are
    the provider's schema (ALICLOUD_KEYS); the stack's Kubernetes provider is explicit, made from
    ACK's credential for `clusterId` (components/cluster/provider.py), so nothing reads `kubernetes:` at all."""
    namespace, name = key.split(":", 1)
    if namespace == "kubernetes":
        return (key, "is read by nothing: the stack's Kubernetes provider is built from ACK's credential for "
                     f"{project}:clusterId, never from the kubernetes: namespace; remove it")
    if namespace != "alicloud" or name in ALICLOUD_KEYS:
        return None
    hint = difflib.get_close_matches(name.replace("_", ""), [k.lower() for k in ALICLOUD_KEYS], n=1, cutoff=0.6)
    camel = next((k for k in ALICLOUD_KEYS if hint and k.lower() == hint[0]), None)
    ours = difflib.get_close_matches(name, allowed_keys(schema.StackConfig), n=1, cutoff=0.8)
    return (key, "is not a key the alicloud provider reads (pulumi_alicloud/config/vars.py), so it has no effect"
                 + (f"; did you mean 'alicloud:{camel}'?" if camel else "")
                 + (f"; or, this stack's own, '{project}:{ours[0]}'?" if ours else ""))


def namespace_problems(project: str, keys: list[str]) -> list[Problem]:
    """A key under a namespace nothing in this stack reads is a typo whose section would
    silently fall back to defaults (`elastic-inferance:autoscaling`); so is a key under a provider's
    namespace that the provider does not read (`alicloud:regoin`, `alicloud:secret_key`)."""
    known = [f"{project}:{k}" for k in allowed_keys(schema.StackConfig)] + ["alicloud:region"]
    problems = []
    for key in keys:
        namespace = key.split(":", 1)[0] if ":" in key else ""
        if namespace in ("alicloud", "kubernetes"):
            problem = provider_key_problem(key, project)
            problems += [problem] if problem else []
            continue
        if namespace in (project, "pulumi"):
            continue
        hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        problems.append((key, (
            f"nothing in this stack reads namespace {namespace!r}: it is neither this project "
            f"({project}) nor a provider the stack uses ({', '.join(PROVIDER_NAMESPACES[:2])})"
            + (f"; did you mean {hint[0]!r}?" if hint else ""))))
    return problems


def plaintext_credential_problems(keys: list[str]) -> list[Problem]:
    """A cloud credential written in the stack file in plain text (committed with it)."""
    return [
        (key, f"is stored in plain text in the stack file; store it encrypted with `pulumi config set "
              f"--secret {key} <value>`, or remove it and export {env}")
        for key, env in CREDENTIAL_KEYS.items()
        if key in keys and not runtime_config.is_config_secret(key)
    ]


def read_region() -> Optional[str]:
    """`alicloud:region`, or the provider's own environment fallback."""
    return pulumi.Config("alicloud").get("region") or os.environ.get("ALICLOUD_REGION")


def valid_sections(raw: dict[str, Any], exc: Optional[ValidationError] = None,
                   whole: Optional[schema.StackConfig] = None) -> dict[str, Any]:
    """Each top-level key of the config that the schema accepted, by its field name: all of them
    from a config that validated (`whole`); from one it refused, every key without an error,
    validated alone (or its default). The rules that read only these still run (config/rules)."""
    fields = schema.StackConfig.model_fields
    if whole is not None:
        return {name: getattr(whole, name) for name in fields}
    by_alias = {(f.alias or n): n for n, f in fields.items()}
    failed = {by_alias.get(str(err["loc"][0]), str(err["loc"][0])) for err in exc.errors() if err["loc"]} \
        if exc is not None else set()
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in failed:
            continue
        given = raw.get(field.alias or name, raw.get(name))
        section = field.annotation if isinstance(field.annotation, type) and issubclass(
            field.annotation, BaseModel) else None
        if given is None and not field.is_required():
            values[name] = field.get_default(call_default_factory=True)
        elif section is not None and given is not None:
            try:
                values[name] = section.model_validate(given)
            except ValidationError:
                continue
        elif given is not None:
            values[name] = given
    return values


def validated(project: str) -> tuple[Optional[schema.StackConfig], dict[str, Any], Optional[str], list[Problem]]:
    """The stack's config through the schema (None when it refused any of it), the top-level keys it
    accepted (`valid_sections`), the region, and every problem found so far (namespaces,
    credentials, the region, the schema's)."""
    raw = read_raw_config(project, load_project_schema())
    keys = all_config_keys()
    problems = namespace_problems(project, keys) + plaintext_credential_problems(keys)
    region = read_region()
    wrong_region = region_problem(region, keys)
    problems += [wrong_region] if wrong_region else []
    try:
        cfg = schema.StackConfig.model_validate(raw)
    except ValidationError as exc:
        return None, valid_sections(raw, exc), region, problems + format_validation_error(
            exc, frozenset(secret_keys(project)))
    return cfg, valid_sections(raw, whole=cfg), region, problems


def load_settings() -> Settings:
    """Read, validate and resolve the current stack's config. Raises `ConfigError`."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    cfg, given, region, problems = validated(project)
    source = parse_model_source(given["model"].source)[0] if "model" in given else None
    if source is not None:
        given["source"] = source
    if region is not None and region_problem(region) is None:
        given["region"] = region
    problems += rules.run(rules.rules(), given)
    if cfg is None or source is None or region is None or problems:
        raise ConfigError(problems)

    # The config is valid; now what it leaves to the account (read-only look-ups, before
    # anything is registered). Their findings are reported like the config's own.
    account_id = account.account_id()
    location = derived.bucket_location(cfg, source, project, stack, account_id)
    found = account.look_up(cfg, stack, bucket=location[0] if source.managed else None,
                            pool=derived.node_pool_name(cfg.serving.name))
    if found.problems:
        raise ConfigError(found.problems)
    for warning in rules.run(rules.warnings(), given) + found.warnings:
        pulumi.log.warn(warning)
    return derived.resolve(cfg, project=project, stack=stack, region=region, account_id=account_id, source=source,
                           location=location, gpu=runtime_of(cfg.serving, cfg.capacity), rrsa=found.rrsa,
                           vswitch_ids=found.vswitch_ids, network=found.network)
