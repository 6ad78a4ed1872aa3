"""Read the stack's config once, validate all of it, and resolve it into `Settings`.

This is the only module that calls `pulumi.Config`. It registers nothing: when any value is
wrong it raises `ConfigError` listing every problem, before a single resource (not even a
provider) exists. The steps, each in its own module: the schema (`schema.py`, its errors in the
user's words by `problems.py`), the rules between keys and on disk (`rules.py`), the read-only
account look-ups (`account.py`: account id, bucket owner, cluster edition, RRSA, worker vSwitches)
for a valid config only, whose findings are reported the same way, and the derived values
(`derived.py`). Warnings are logged only once nothing stops the run.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any, Optional

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from . import account, derived, rules, schema
from .errors import ConfigError, Problem
from .problems import allowed_keys, format_validation_error
from .settings import Settings
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


def region_problem(region: Optional[str]) -> Optional[Problem]:
    """`alicloud:region` must be set and be one the provider accepts."""
    if not region:
        return ("alicloud:region", "is required: `pulumi config set alicloud:region cn-beijing`")
    if region in PROVIDER_REGIONS:
        return None
    hint = difflib.get_close_matches(region, PROVIDER_REGIONS, n=1, cutoff=0.6)
    return ("alicloud:region", f"{region!r} is not a region the alicloud provider accepts"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + "; region ids look like cn-beijing, cn-hangzhou, ap-southeast-1, eu-central-1")


def namespace_problems(project: str, keys: list[str]) -> list[Problem]:
    """A key under a namespace nothing in this stack reads is a typo whose section would
    silently fall back to defaults (`elastic-inferance:autoscaling`)."""
    known = [f"{project}:{k}" for k in allowed_keys(schema.StackConfig)] + ["alicloud:region"]
    problems = []
    for key in keys:
        namespace = key.split(":", 1)[0] if ":" in key else ""
        if namespace in (project, *PROVIDER_NAMESPACES):
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


def validated(project: str) -> tuple[schema.StackConfig, Optional[str], list[Problem]]:
    """The stack's config through the schema, its region, and the problems found around it
    (namespaces, credentials, the region). Raises `ConfigError` when the schema refuses it,
    with those problems too."""
    raw = read_raw_config(project, load_project_schema())
    keys = all_config_keys()
    problems = namespace_problems(project, keys) + plaintext_credential_problems(keys)
    region = read_region()
    wrong_region = region_problem(region)
    problems += [wrong_region] if wrong_region else []
    try:
        cfg = schema.StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + format_validation_error(exc, frozenset(secret_keys(project)))) from None
    return cfg, region, problems


def load_settings() -> Settings:
    """Read, validate and resolve the current stack's config. Raises `ConfigError`."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    cfg, region, problems = validated(project)
    source, source_problems = rules.parse_model_source(cfg.model.source)
    problems += source_problems + rules.check_cross_fields(cfg, source)
    gpu_problems, gpu = rules.check_gpu_image(cfg)
    problems += gpu_problems
    if source is not None:
        problems += rules.check_model_dir(source, cfg.model.versions)
    if source is None or region is None or problems:
        raise ConfigError(problems)

    # The config is valid; now what it leaves to the account (read-only look-ups, before
    # anything is registered). Their findings are reported like the config's own.
    account_id = account.account_id()
    location = derived.bucket_location(cfg, source, project, stack, account_id)
    found = account.look_up(cfg, stack, bucket=location[0] if source.managed else None,
                            pool=derived.node_pool_name(cfg.serving.name))
    if found.problems:
        raise ConfigError(found.problems)
    for warning in rules.warnings(cfg, gpu) + found.warnings:
        pulumi.log.warn(warning)
    return derived.resolve(cfg, project=project, stack=stack, region=region, account_id=account_id, source=source,
                           location=location, gpu=gpu, rrsa=found.rrsa, vswitch_ids=found.vswitch_ids)
