"""Read the stack's config once, validate all of it, and resolve it into `Settings`.

This is the only module that calls `pulumi.Config`. It registers nothing: when any value is
wrong it raises `ConfigError` listing every problem, before a single resource (not even a
provider) exists. Only a valid config goes on to the read-only account look-ups of
`account.py` (account id, bucket owner, worker vSwitches), whose findings are reported the same way.
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

from . import account, rules, schema
from .errors import ConfigError
from .settings import Settings, StorageLocation
from .yaml_files import read_yaml

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"

# The regions the alicloud provider accepts: it refuses any other at start-up ("Invalid Alibaba
# Cloud region", unless skip_region_validation) - terraform-provider-alicloud
# alicloud/connectivity/regions.go `ValidRegions` and config.go `validateRegion`, at 81c43b67.
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


class _Redacted:
    def __repr__(self) -> str:
        return "[secret]"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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


def region_problem(region: Optional[str]) -> Optional[tuple[str, str]]:
    """`alicloud:region` must be set and be one the provider accepts."""
    if not region:
        return ("alicloud:region", "is required: `pulumi config set alicloud:region cn-beijing`")
    if region in PROVIDER_REGIONS:
        return None
    hint = difflib.get_close_matches(region, PROVIDER_REGIONS, n=1, cutoff=0.6)
    return ("alicloud:region", f"{region!r} is not a region the alicloud provider accepts"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + "; region ids look like cn-beijing, cn-hangzhou, ap-southeast-1, eu-central-1")


def namespace_problems(project: str, keys: list[str]) -> list[tuple[str, str]]:
    """A key under a namespace nothing in this stack reads is a typo whose section would
    silently fall back to defaults (`elastic-inferance:autoscaling`)."""
    known = [f"{project}:{k}" for k in schema.allowed_keys(schema.StackConfig)] + ["alicloud:region"]
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


def plaintext_credential_problems(keys: list[str]) -> list[tuple[str, str]]:
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


def format_validation_error(exc: ValidationError, secret: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """One `(dotted key, message)` per pydantic error, in the user's camelCase and in words.

    Values under a key in `secret` are shown as [secret], never in plain text.
    """
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc and loc[0] in secret:
            err = {**err, "input": _Redacted()}
        # Drop pydantic's internal union/validator labels from the location.
        loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "constrained-")))
        loc = tuple(p for p in loc if p not in ("int", "float", "str", "list[str]", "bool", "[key]"))
        path = schema.camel_path(loc) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            section = schema.section_at(loc)
            allowed = schema.allowed_keys(section) if section else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed:
                message += f"; allowed here: {', '.join(allowed)}"
        elif kind == "missing":
            message = "is required and not set"
        else:
            text = err["msg"]
            text = text.removeprefix("Value error, ")
            message = f"{text[0].lower()}{text[1:]} (got {_short(err['input'])})"
        problems.append((path, message))
    # A union reports the same location once per branch; keep the first of each.
    seen, unique = set(), []
    for problem in problems:
        if problem[0] not in seen:
            seen.add(problem[0])
            unique.append(problem)
    return unique


def load_settings() -> Settings:
    """Read, validate and resolve the current stack's config. Raises `ConfigError`."""
    project = pulumi.get_project()
    stack = pulumi.get_stack()
    declared = load_project_schema()
    raw = read_raw_config(project, declared)

    keys = all_config_keys()
    problems = namespace_problems(project, keys) + plaintext_credential_problems(keys)
    region = read_region()
    wrong_region = region_problem(region)
    problems += [wrong_region] if wrong_region else []

    try:
        cfg = schema.StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + format_validation_error(exc, frozenset(secret_keys(project)))) from None

    source, source_problems = rules.parse_model_source(cfg.model.source)
    problems += source_problems
    problems += rules.check_cross_fields(cfg, source)
    gpu_problems, gpu = rules.check_gpu_image(cfg)
    problems += gpu_problems
    if source is not None:
        problems += rules.check_model_dir(source, cfg.model.versions)
    if problems:
        raise ConfigError(problems)
    assert source is not None and region is not None
    if gpu is not None and gpu.jit:
        pulumi.log.warn(
            f"{cfg.serving.image} has no machine code for the GPU of some listed instance type: every new "
            "pod there compiles its kernels at start-up (up to 30 minutes, budgeted in the startup "
            "probe); list types whose GPU it has kernels for to avoid it (README, \"GPU, image and driver\")")

    # The config is valid; now what it leaves to the account (read-only look-ups, before
    # anything is registered). Their findings are reported like the config's own.
    account_id = account.account_id()
    if source.managed:
        bucket = (
            cfg.storage.bucket
            if cfg.storage.bucket is not None
            else rules.default_bucket_name(account_id, project, stack, cfg.model.name)
        )
        prefix = (
            cfg.storage.prefix
            if cfg.storage.prefix is not None
            else rules.default_prefix(cfg.model.name)
        )
        taken = account.bucket_problem(bucket, cfg.storage.bucket is not None, account.bucket_tags(bucket), stack)
        problems += [taken] if taken else []
    else:
        assert source.oss_bucket is not None and source.oss_prefix is not None  # parse_model_source
        bucket, prefix = source.oss_bucket, source.oss_prefix
    if cfg.capacity.mode == "eci" and cfg.capacity.eci.scheduling == "burst":
        edition = account.edition_problem(cfg.cluster_id, account.cluster_edition(cfg.cluster_id))
        problems += [edition] if edition else []
    rrsa: Optional[account.RrsaIssuer] = None
    if cfg.storage.auth == "rrsa":
        rrsa = account.rrsa_issuer(cfg.cluster_id)
        missing = account.rrsa_problem(cfg.cluster_id, rrsa)
        problems += [missing] if missing else []
    vswitch_ids: Optional[tuple[str, ...]] = None
    if cfg.capacity.mode == "nodepool":
        pools, own = account.node_pools(cfg.cluster_id), rules.node_pool_name(cfg.serving.name)
        configured = cfg.capacity.node_pool.vswitch_ids
        if configured is not None:
            vswitch_ids = tuple(configured)
        else:
            found, missing = account.default_vswitches(pools, own)
            vswitch_ids = tuple(found)
            problems += [missing] if missing else []
        warning = account.new_pool_warning(pools, own, cfg.capacity.node_pool.compensate_with_on_demand)
        if warning:
            pulumi.log.warn(warning)
        driver = rules.driver_warning(cfg, gpu)
        if driver:
            pulumi.log.warn(driver)
    if problems:
        raise ConfigError(problems)
    return Settings(
        project=project,
        stack=stack,
        region=region,
        account_id=account_id,
        cluster_id=cfg.cluster_id,
        protect=cfg.protect,
        model=cfg.model,
        model_source=source,
        storage=StorageLocation(bucket=bucket, prefix=prefix, auth=cfg.storage.auth, managed=source.managed,
                                noncurrent_version_days=cfg.storage.noncurrent_version_days),
        capacity=cfg.capacity,
        pool_vswitch_ids=vswitch_ids,
        rrsa=rrsa,
        serving=cfg.serving,
        gpu=gpu,
        autoscaling=cfg.autoscaling,
        ingress=cfg.ingress,
        network=cfg.network,
    )
