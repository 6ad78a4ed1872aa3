"""Every value the stack derives from its config, computed here once: the model's source, the
batching file, the tracks' split of the HPA, names (the bucket, the prefix, the node pool, the SLS
project), the served version, the route the HPA measures, the image as the pods pull it, the
bucket's tags, the serving ports, the ECI driver branch; and `resolve`, which turns a validated
config and what the account said into `Settings` (the top-level settings module). The rules
(config/rules) read the same derivations, so a check and the resource it guards agree.

Pure functions: the loader calls `resolve` only once every problem is known to be absent.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import settings

from . import batching_proto, cron, images, warmup
from .account import APP_TAG, LIFECYCLE_RULE_ID, MANAGED_TAG, POOL_TAG, STACK_TAG, RrsaIssuer
from .errors import Problem
from .image_ref import canonical, image_reference, image_version, mirrored
from .patterns import MODEL_NAME, OSS_BUCKET, OSS_PREFIX
from .problems import home_path
from .schema import (
    AutoscalingSettings,
    CanarySettings,
    CapacitySettings,
    ModelSettings,
    NetworkSettings,
    ServingSettings,
    StackConfig,
    WarmupSettings,
)

# --- the model's source --------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSource:
    """Where the SavedModel comes from: a local directory to upload, or an OSS location."""

    local_dir: Optional[Path] = None
    """Local base directory (holding `<version>/saved_model.pb`); None for an oss:// source."""
    oss: Optional[tuple[str, str]] = None
    """Bucket and key prefix of an oss:// source; None for a local one."""

    @property
    def managed(self) -> bool:
        """True when this stack uploads the model (and so owns the bucket)."""
        return self.local_dir is not None

    @property
    def oss_location(self) -> tuple[str, str]:
        """(bucket, prefix) of an oss:// source."""
        if self.oss is None:
            raise ValueError("a local model source has no OSS location")
        return self.oss


_OSS_URI = re.compile(r"oss://(?P<bucket>[^/]+)(/(?P<prefix>.*?))?/?")


def parse_model_source(source: str) -> tuple[Optional[ModelSource], list[Problem]]:
    """Split `model.source` into a local directory or an OSS bucket and prefix."""
    if not source.startswith("oss://"):
        if source.startswith("~"):
            return None, [("model.source", home_path(source))]
        return ModelSource(local_dir=Path(source)), []
    match = _OSS_URI.fullmatch(source)
    bucket = match.group("bucket") if match else ""
    prefix = (match.group("prefix") or "") if match else ""
    problems: list[Problem] = []
    if not re.fullmatch(OSS_BUCKET, bucket):
        problems.append(("model.source", f"{source!r} names bucket {bucket!r}, which is not a valid OSS bucket name "
                                         "(3-63 lowercase letters, digits and '-', no '-' at either end)"))
    if not prefix or not re.fullmatch(OSS_PREFIX, prefix):
        problems.append(("model.source", f"{source!r} needs a key prefix after the bucket, made of path segments of "
                                         "letters, digits, '.', '_' and '-' (e.g. oss://my-bucket/models/bert)"))
    if problems:
        return None, problems
    return ModelSource(oss=(bucket, prefix)), []

# --- batching -----------------------------------------------------------------------------------

# The batching keys with their proto field names (BatchingSettings' names are the proto's).
_BATCHING_NOT_A_FIELD = ("serving_version",)
BATCHING_FIRST = {"enable_large_batch_splitting": "2.4.0", "max_execution_batch_size": "2.4.0"}


def batching_fields(serving: ServingSettings) -> list[tuple[str, object]]:
    """`serving.batching` as BatchingParameters fields, in the schema's order (none: off)."""
    b = serving.batching
    if b is None:
        return []
    return [(name, value) for name, value in b.model_dump().items()
            if value is not None and name not in _BATCHING_NOT_A_FIELD]


def batching_version(serving: ServingSettings) -> Optional[str]:
    """The TF Serving release whose BatchingParameters apply: `servingVersion`, else the image's
    tag when it reads as one (`2.19.1-gpu`); None: neither says."""
    b = serving.batching
    if b is not None and b.serving_version:
        return b.serving_version
    _, tag = image_reference(serving.image)
    if tag is None:
        return None
    try:
        batching_proto.parse_version(tag)
    except ValueError:
        return None
    return tag


def version_dirs(model: ModelSettings, source: ModelSource) -> dict[int, Path]:
    """Each listed version's directory that holds a SavedModel graph (the rules say what is wrong
    with the others)."""
    found: dict[int, Path] = {}
    if source.local_dir is None:
        return found
    for version in model.versions:
        vdir = source.local_dir / str(version)
        try:
            if any((vdir / name).is_file() for name in warmup.SAVED_MODEL_FILES):
                found[version] = vdir
        except OSError:
            continue
    return found


def warmup_request(settings_: WarmupSettings) -> Path:
    """The request every new server replays: `model.warmup.request`, or the load test's payload."""
    return settings.LOAD_TEST_PAYLOAD if settings_.request is None else Path(settings_.request)


def warmup_of(model: ModelSettings, source: ModelSource) -> settings.Warmup:
    """The warmup file of each version the stack uploads that ships none (the rules refused a named
    request that does not fit, and said where the default does not)."""
    dirs = version_dirs(model, source)
    if not model.warmup.enabled or not dirs:
        return settings.NO_WARMUP
    files, shipped = {}, []
    try:
        body = warmup.read_request(warmup_request(model.warmup))
    except warmup.WarmupError:
        body = None
    for version, vdir in dirs.items():
        if (vdir / settings.WARMUP_FILE).is_file():
            shipped.append(version)
        elif body is not None:
            try:
                files[version] = warmup.warmup_file(vdir, body, model.name)
            except warmup.WarmupError:
                continue
    return settings.Warmup(files=files, shipped=tuple(shipped))


def has_image_cache(capacity: CapacitySettings) -> bool:
    """Whether the stack owns an ECI image cache: eci mode with `imageCache`, or a pool's overflow."""
    return capacity.eci.image_cache if capacity.mode == "eci" else capacity.node_pool.eci_overflow


# --- the tracks ---------------------------------------------------------------------------------
# How the pods and the traffic split between the main track and a canary (`model.canary`).
#
# ingress-nginx routes `canary-weight` percent of the predict requests, each drawn at random, to the
# canary Ingress's Service (rootfs/etc/nginx/lua/balancer.lua route_to_alternative_balancer at
# dbb11b92: `math.random(weightTotal) <= weight`, weightTotal 100). Every one of them, canary or not,
# is logged under the main upstream's name (`$proxy_upstream_name`; the canary's only in
# `$proxy_alternative_upstream_name`: balancer.lua get_balancer), which is the only field the metrics
# adapter filters `sls_ingress_qps` on (alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go at
# 93cf5f14). So both tracks' HPAs read the main route's whole rate, each with a per-pod target scaled
# by its share: ceil(rate x share / targetQps) pods, the same count a route of its own would give.


def _target(target_qps: float, share_percent: int) -> float:
    return target_qps * 100 / max(share_percent, 1)


def split(min_replicas: int, max_replicas: int, target_qps: float, weight: Optional[int]) -> settings.Split:
    """`weight` None: no canary, the main track as configured. Otherwise the canary gets its share of
    `maxReplicas` (at least one pod, kept warm at weight 0 so raising it needs no cold start) and the
    main track the rest, never below `minReplicas` (a rollback lands on warm pods). A track with no
    share is held at its minimum."""
    if weight is None:
        return settings.Split(settings.HpaBounds(min_replicas, max_replicas, target_qps), None)
    canary_max = 1 if weight == 0 else max(1, math.ceil(max_replicas * weight / 100))
    main_max = max_replicas - canary_max if weight < 100 else min_replicas
    main_max = max(min_replicas, main_max)
    canary = settings.HpaBounds(1, canary_max, _target(target_qps, weight))
    main = settings.HpaBounds(min_replicas, main_max, _target(target_qps, 100 - weight))
    return settings.Split(main, canary)


def stack_split(autoscaling: AutoscalingSettings, canary: Optional[CanarySettings]) -> settings.Split:
    """The stack's own split: `autoscaling` and `model.canary.weight`."""
    a = autoscaling
    return split(a.min_replicas, a.max_replicas, a.target_qps, canary.weight if canary else None)


# tensorflow_model_server's ports: `--port` (gRPC) and `--rest_api_port`, their defaults
# (tensorflow_serving/model_servers/main.cc at 1.15.0 and 2.19.1); the stack passes both explicitly.
GRPC_PORT = 8500
REST_PORT = 8501


def batching_text(cfg: StackConfig) -> Optional[str]:
    """The batching file's text (rules.batching_parameters has checked it parses); None: off."""
    version = batching_version(cfg.serving)
    if cfg.serving.batching is None or version is None:
        return None
    return batching_proto.text(version, batching_fields(cfg.serving))


def default_bucket_name(account_id: str, project: str, stack: str, model_name: str) -> str:
    """A valid, deterministic, globally-unlikely-to-clash OSS bucket name.

    It depends only on what identifies the data: whose it is (the account), which stack of which
    project, which model. Never on the cluster: moving a stack to another cluster must not
    replace the bucket (its name forces replacement). Deterministic so that two previews agree
    (no random suffix); the account in the hash keeps it from clashing with another account's
    stack of the same name, since bucket names are global.
    """
    digest = hashlib.sha256(f"{account_id}/{project}/{stack}/{model_name}".encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9-]+", "-", f"{stack}-{model_name}".lower()).strip("-")
    stem = re.sub(r"-{2,}", "-", stem)[: 63 - len("ei--") - len(digest)].strip("-")
    name = f"ei-{stem}-{digest}" if stem else f"ei-{digest}"
    assert re.fullmatch(OSS_BUCKET, name), name
    return name


def default_prefix(model_name: str) -> str:
    """`models/<model.name>`: one place per model in a shared bucket."""
    assert re.fullmatch(MODEL_NAME, model_name), model_name
    return f"models/{model_name}"


def node_pool_name(serving_name: str) -> str:
    """The GPU node pool's name (ACK node pool names: at most 63 characters)."""
    return f"{serving_name}-gpu"[:63]


def sls_project(configured: Optional[str], cluster_id: str) -> str:
    """The SLS project of the ingress logs: configured, or ACK's default `k8s-log-<clusterId>`."""
    return configured if configured is not None else f"k8s-log-{cluster_id}"


def served_version(serve: Optional[int], versions: list[int]) -> int:
    """`model.serve`, or the highest loaded version."""
    return serve if serve is not None else max(versions)


def versions_in_place(mode: str, file_system_poll_seconds: int, eci_overflow: bool = False) -> bool:
    """Whether a version change can reload the running servers in place: it takes the kubelet
    refreshing the mounted model config and TF Serving polling the model directory, so not on ECI
    (no source shows it refreshing a ConfigMap), not with a pool that overflows there, not with
    `fileSystemPollSeconds: 0` (listed once, at start). Otherwise the pods roll, each new server
    starting with the new config. The sources: docs/model-versions.md, "How a change reaches the
    servers"."""
    return mode == "nodepool" and file_system_poll_seconds > 0 and not eci_overflow


def ingress_route(namespace: str, service: str, port: int) -> str:
    """The ingress-nginx upstream name that the SLS access logs carry as `proxy_upstream_name`,
    `<namespace>-<service>-<port>`, and the metrics adapter's `sls.ingress.route` selects.

    `port` must be the backend port exactly as the Ingress names it (a number here); a wrong
    route silently measures nothing, or the whole cluster's traffic.
    """
    return f"{namespace}-{service}-{port}"


def bucket_tags(stack: str) -> dict[str, str]:
    """The tags config/account.py recognises the stack's own bucket by."""
    return {APP_TAG[0]: APP_TAG[1], STACK_TAG: stack, MANAGED_TAG[0]: MANAGED_TAG[1]}


def pool_tags(stack: str) -> dict[str, str]:
    """The tag config/account.py recognises the stack's own node pool by, whatever its name."""
    return {POOL_TAG: stack}


def bucket_location(cfg: StackConfig, source: ModelSource, project: str, stack: str,
                    account_id: str) -> tuple[str, str]:
    """(bucket, prefix) of the model: configured or generated for a managed model, the `oss://`
    source's own otherwise."""
    if source.local_dir is None:
        return source.oss_location
    bucket = cfg.storage.bucket if cfg.storage.bucket is not None else default_bucket_name(
        account_id, project, stack, cfg.model.name)
    prefix = cfg.storage.prefix if cfg.storage.prefix is not None else default_prefix(cfg.model.name)
    return bucket, prefix


def storage_of(cfg: StackConfig, source: ModelSource, location: tuple[str, str], stack: str,
               rrsa: Optional[RrsaIssuer]) -> settings.Storage:
    """Where the model lives and how the volume reads it."""
    auth: settings.VolumeAuth = (settings.RrsaAuth(provider_arn=rrsa.provider_arn, issuer_url=rrsa.issuer_url)
                                 if rrsa is not None else settings.RamUserAuth())
    return settings.Storage(bucket=location[0], prefix=location[1], managed=source.local_dir is not None,
                            noncurrent_version_days=cfg.storage.noncurrent_version_days, tags=bucket_tags(stack),
                            lifecycle_rule_id=LIFECYCLE_RULE_ID, auth=auth)


def image_cache_name(stack: str, serving_name: str, built_from: tuple[object, ...]) -> str:
    """`ei-<stack>-<name>-<hash>`, in lowercase letters, digits and '-', at most 63: an alphabet no
    name rule refuses (the API's own rule for it could not be read offline). The hash covers every
    argument the cache is built from (each forces a new cache: the resource has no Update), so a
    changed cache has a new name, created before the old one is deleted without a clash."""
    digest = hashlib.sha256(json.dumps(built_from).encode()).hexdigest()[:8]
    stem = re.sub(r"[^a-z0-9-]+", "-", f"ei-{stack}-{serving_name}".lower()).strip("-")
    return f"{stem[: 63 - len(digest) - 1]}-{digest}"


def image_cache_of(c: CapacitySettings, stack: str, serving_name: str, cached: tuple[str, ...],
                   network: Optional[tuple[str, str]]) -> settings.ImageCache:
    """The stack's cache, on its configured network or the cluster's (`network`: its first vSwitch
    and its security group, looked up when either is not configured)."""
    ic = c.eci_image_cache
    looked_up = network or ("", "")
    vswitch, group = ic.vswitch_id or looked_up[0], ic.security_group_id or looked_up[1]
    built_from = (list(cached), ic.size, ic.retention_days, vswitch, group, ic.eip_instance_id)
    return settings.ImageCache(
        name=image_cache_name(stack, serving_name, built_from), images=cached, size=ic.size,
        retention_days=ic.retention_days, vswitch_id=vswitch, security_group_id=group,
        eip_instance_id=ic.eip_instance_id)


def capacity_of(c: CapacitySettings, serving_name: str, stack: str, vswitch_ids: Optional[tuple[str, ...]],
                gpu: Optional[images.GpuRuntime], cached: tuple[str, ...],
                network: Optional[tuple[str, str]]) -> settings.Capacity:
    """The capacity mode's own settings, and nothing of the other mode."""
    types = tuple(c.instance_types)
    cache = image_cache_of(c, stack, serving_name, cached, network) if has_image_cache(c) else None
    driver = images.eci_driver(gpu.min_driver) if gpu is not None else None
    if c.mode == "nodepool":
        pool = c.node_pool
        # Required in this mode: config/rules/capacity.py refused their absence, config/account.py found
        # the vSwitches; the loader resolves only a config without problems.
        if pool.key_name is None or vswitch_ids is None:
            raise ValueError("nodepool settings resolved before their problems were reported")
        return settings.NodePool(
            instance_types=types, name=node_pool_name(serving_name), vswitch_ids=vswitch_ids,
            key_name=pool.key_name, min_size=pool.min_size, max_size=pool.max_size,
            spot_price_limit=pool.spot_price_limit if pool.spot_strategy == "SpotWithPriceLimit" else None,
            on_demand_percentage=pool.on_demand_percentage, compensate_with_on_demand=pool.compensate_with_on_demand,
            labels=dict(pool.labels), tags=pool_tags(stack), system_disk_size=pool.system_disk_size,
            gpu_driver_version=pool.gpu_driver_version,
            eci_overflow=settings.EciOverflow(image_cache=cache, gpu_driver=driver) if cache is not None else None)
    eci = c.eci
    return settings.Eci(
        instance_types=types,
        spot=settings.EciSpot(price_limit=eci.spot_price_limit, fallback=eci.spot_fallback) if eci.spot else None,
        image_cache=cache,
        burst_node_labels=dict(eci.ecs_node_labels or {}) if eci.scheduling == "burst" else None,
        gpu_driver=driver)


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def awake_week(wake: str, sleep: str, time_zone: str,
               now: Optional[datetime.datetime] = None) -> tuple[float, str]:
    """The hours a schedule keeps the service awake in the coming week (from next Monday 00:00 in
    its time zone), and those hours day by day (`Mon-Fri 08:00-20:00`), so a schedule with wake and
    sleep swapped shows as awake at night before anything changes."""
    zone = zoneinfo.ZoneInfo(time_zone)
    today = (now or datetime.datetime.now(datetime.UTC)).astimezone(zone)
    monday = (today + datetime.timedelta(days=7 - today.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    end = monday + datetime.timedelta(days=7)
    schedules = {True: cron.parse(wake), False: cron.parse(sleep)}
    # A firing at Monday 00:00 itself is the week's first event, not the state it starts in.
    woke, slept = (schedules[state].last_before(monday, time_zone) for state in (True, False))
    awake = woke is not None and (slept is None or woke > slept)
    events = sorted((at, state) for state, s in schedules.items()
                    for at in s.firings(monday - datetime.timedelta(seconds=1), end, time_zone))
    spans, since = [], monday if awake else None
    for at, state in events:
        if state and since is None:
            since = at
        elif not state and since is not None:
            spans.append((since, at))
            since = None
    if since is not None:
        spans.append((since, end))
    hours = sum((b - a).total_seconds() for a, b in spans) / 3600
    per_day: list[str] = []
    for day in range(7):
        start = monday + datetime.timedelta(days=day)
        stop = start + datetime.timedelta(days=1)
        pieces = [(max(a, start), min(b, stop)) for a, b in spans if a < stop and b > start]
        per_day.append(" ".join(f"{a:%H:%M}-{'24:00' if b == stop else f'{b:%H:%M}'}" for a, b in pieces))
    groups: list[str] = []
    day = 0
    while day < 7:
        last_day = day
        while last_day + 1 < 7 and per_day[last_day + 1] == per_day[day]:
            last_day += 1
        if per_day[day]:
            days = DAYS[day] if last_day == day else f"{DAYS[day]}-{DAYS[last_day]}"
            groups.append(f"{days} {per_day[day]}")
        day = last_day + 1
    return hours, ", ".join(groups) or "never"


def behavior_of(a: AutoscalingSettings) -> settings.ScalingBehavior:
    return settings.ScalingBehavior(
        scale_up_stabilization_seconds=a.scale_up_stabilization_seconds,
        scale_up_pods_per_minute=a.scale_up_pods_per_minute,
        scale_down_stabilization_seconds=a.scale_down_stabilization_seconds,
        scale_down_pods_per_minute=a.scale_down_pods_per_minute)


def autoscaling_of(a: AutoscalingSettings, cluster_id: str, namespace: str, service: str,
                   tracks: settings.Split, network: NetworkSettings) -> settings.Autoscaling:
    idle = a.idle
    schedule = None
    if idle.mode == "schedule" and idle.wake is not None and idle.sleep is not None:
        hours, days = awake_week(idle.wake, idle.sleep, idle.time_zone)
        schedule = settings.IdleHours(time_zone=idle.time_zone, wake=idle.wake, sleep=idle.sleep,
                                         awake_hours=hours, awake=days)
    return settings.Autoscaling(
        bounds=settings.HpaBounds(a.min_replicas, a.max_replicas, a.target_qps),
        metric=settings.QpsMetric(sls_project=sls_project(a.sls_project, cluster_id), sls_logstore=a.sls_logstore,
                                  route=ingress_route(namespace, service, REST_PORT)),
        behavior=behavior_of(a),
        idle=schedule, tracks=tracks,
        edge_log=settings.EdgeLog(namespace=network.ingress_namespace, config_map=network.ingress_config_map)
        if a.refused_requests == "excluded" else None)


def resolve(cfg: StackConfig, *, project: str, stack: str, region: str, account_id: str, source: ModelSource,
            location: tuple[str, str], gpu: Optional[images.GpuRuntime], rrsa: Optional[RrsaIssuer],
            vswitch_ids: Optional[tuple[str, ...]], network: Optional[tuple[str, str]] = None) -> settings.Settings:
    """The Settings of a config without problems, with what the account said."""
    s, n, i = cfg.serving, cfg.network, cfg.ingress
    # The reference the pods run, and the cache is built from: the mirror's copy of a Docker Hub
    # image, fully qualified (image_ref.canonical: the cache's `images` read back as sent).
    image = canonical(mirrored(s.image, cfg.registry.mirror))
    return settings.Settings(
        project=project, stack=stack, region=region, account_id=account_id, cluster_id=cfg.cluster_id,
        protect=cfg.protect,
        model=settings.Model(name=cfg.model.name, versions=tuple(cfg.model.versions),
                             served_version=served_version(cfg.model.serve, cfg.model.versions),
                             reload=cfg.model.reload, local_dir=source.local_dir,
                             canary=settings.Canary(version=c.version, weight=c.weight)
                             if (c := cfg.model.canary) is not None else None,
                             warmup=warmup_of(cfg.model, source)),
        storage=storage_of(cfg, source, location, stack, rrsa),
        capacity=capacity_of(cfg.capacity, s.name, stack, vswitch_ids, gpu, (image,), network),
        serving=settings.Serving(
            namespace=s.namespace, name=s.name, image=image, image_version=image_version(image), gpus=s.gpus,
            cpu=s.cpu, memory=s.memory, check_image=canonical(mirrored(s.check_image, cfg.registry.mirror)),
            file_system_poll_seconds=s.file_system_poll_seconds,
            jit_compile=gpu is not None and gpu.jit,
            in_place=versions_in_place(cfg.capacity.mode, s.file_system_poll_seconds,
                                       cfg.capacity.node_pool.eci_overflow),
            rest_port=REST_PORT, grpc_port=GRPC_PORT, batching=batching_text(cfg)),
        autoscaling=autoscaling_of(cfg.autoscaling, cfg.cluster_id, s.namespace, s.name,
                                   stack_split(cfg.autoscaling, cfg.model.canary), cfg.network),
        ingress=settings.Ingress(
            host=i.host, class_name=i.class_name, tls_secret_name=i.tls_secret_name,
            allow_source_cidrs=tuple(i.allow_source_cidrs) if i.allow_source_cidrs is not None else None,
            rate_limit_rps=i.rate_limit_rps),
        network=settings.Network(
            ingress_namespace=n.ingress_namespace,
            ingress_pod_labels=dict(n.ingress_pod_labels) if n.ingress_pod_labels is not None else None,
            grpc_client_namespaces=tuple(n.grpc_client_namespaces),
            metrics_namespaces=tuple(n.metrics_namespaces)) if n.policy else None,
        alerts=None if cfg.alerts is None else settings.Alerts(**cfg.alerts.model_dump()),
    )
