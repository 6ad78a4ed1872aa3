"""The one seam between config and components: `build` turns validated Settings into the
component tree and returns the stack's outputs.

The only module of components/ that reads a whole Settings: every other component gets its values
through its Args, so it can be built and tested without a stack's config. The tree, top to bottom:
the model store, the cluster, the capacity (a node pool or ECI, by `capacity.mode`, with the ECI
image cache when one is set), the model volume, the retire check, the edge-log check (refused
requests excluded from scaling), each track's serving workload, serve gate, autoscaler and idle
schedule, the public endpoint, the dashboard and alerts. Every Kubernetes object reaches the
cluster through its provider, handed to the components as an option and inherited by their
children (never the ambient kubeconfig).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional, Union

import pulumi

import settings
from components.capacity.eci import CacheUse, EciCapacity, EciCapacityArgs
from components.capacity.image_cache import EciImageCache
from components.capacity.node_pool import EciOverflowArgs, GpuNodePool, GpuNodePoolArgs
from components.cluster.provider import Cluster, ClusterArgs
from components.network.public_endpoint import CanaryRoute, PublicEndpoint, PublicEndpointArgs, predict_path
from components.observability.sls import Observability, ObservabilityArgs
from components.scaling.autoscaler import Autoscaler, AutoscalerArgs
from components.scaling.edge.log import EdgeLogCheck, EdgeLogCheckArgs
from components.scaling.idle.schedule import IdleSchedule, IdleScheduleArgs
from components.serving.spec import NetworkPeers, ServingInputs, group_labels, recommended_labels
from components.serving.tf_serving import TfServing, TfServingArgs
from components.serving.versions.gate import RetireCheck, RetireCheckArgs, ServeGate, ServeGateArgs
from components.serving.versions.spec import gate_labels
from components.storage.model_files import CANARY_DIR
from components.storage.model_store import ModelStore, ModelStoreArgs
from components.storage.model_volume import ModelVolume, ModelVolumeArgs
from components.storage.volume_spec import VolumeInputs
from settings import CANARY_SUFFIX, HpaBounds, Settings, awake_text

CapacityComponent = Union[GpuNodePool, EciCapacity]


def image_cache(c: settings.Capacity) -> Optional[EciImageCache]:
    """The stack-owned ECI image cache, where the capacity has ECI pods that start from one."""
    cache = c.image_cache if isinstance(c, settings.Eci) else (c.eci_overflow.image_cache if c.eci_overflow else None)
    if cache is None:
        return None
    return EciImageCache("image-cache", cache)


def capacity_component(c: settings.Capacity, s: Settings, opts: pulumi.ResourceOptions,
                       cache: Optional[EciImageCache], namespace: pulumi.Input[str]) -> CapacityComponent:
    """A spot GPU node pool or ECI, as `capacity.mode` chose; the other mode registers nothing.
    `opts` carries the Kubernetes provider (`providers=`) for the ResourcePolicies, which live in
    `namespace` (the cluster component's output: they wait for it); the ECI pods start from `cache`."""
    # Pinned unless ECI deletes it after retentionDays (CacheUse.pinned says why).
    use = None if cache is None else CacheUse(cache=cache, cache_id=cache.cache_id,
                                              pinned=cache.retention_days is None)
    if isinstance(c, settings.NodePool):
        overflow = None if c.eci_overflow is None or use is None else EciOverflowArgs(
            namespace=namespace, name=s.serving.name, pod_selector=group_labels(s.serving.name), image_cache=use)
        return GpuNodePool("capacity", GpuNodePoolArgs(cluster_id=s.cluster_id, pool=c, overflow=overflow), opts)
    return EciCapacity("capacity", EciCapacityArgs(
        cluster_id=s.cluster_id, namespace=namespace, name=s.serving.name,
        pod_selector=group_labels(s.serving.name), eci=c, image_cache=use), opts)


# With no NetworkPolicy anyone in the cluster reaches the serving pods; with one, only the namespaces
# it admits. What cannot be reached is not advertised (no `prometheus.io/*` annotations; no
# `grpcAddress` output).
def metrics_scrapable(s: Settings) -> bool:
    return s.network is None or bool(s.network.metrics_namespaces)


def grpc_reachable(s: Settings) -> bool:
    return s.network is None or bool(s.network.grpc_client_namespaces)


def serving_inputs(s: Settings, claim_name: str) -> ServingInputs:
    """The plain values every serving manifest is built from."""
    v = s.serving
    return ServingInputs(
        namespace=v.namespace, name=v.name, image=v.image, image_version=v.image_version, gpus=v.gpus, cpu=v.cpu,
        memory=v.memory, model_name=s.model.name, versions=s.model.versions, served_version=s.model.served_version,
        claim_name=claim_name, poll_seconds=v.file_system_poll_seconds, check_image=v.check_image,
        rest_port=v.rest_port, grpc_port=v.grpc_port, in_place=v.in_place, reload=s.model.reload,
        metrics_scrapable=metrics_scrapable(s), jit_compile=v.jit_compile, batching=v.batching)


def autoscaler_args(s: Settings, deployment_name: pulumi.Input[str], labels: dict[str, str],
                    depends_on: Sequence[pulumi.Resource] = (), track: Optional[HpaBounds] = None,
                    name: Optional[str] = None) -> AutoscalerArgs:
    """The HPA of a stack: the program's, and the one the planner simulates (the whole service, as
    configured); `track` and `name`: one track's, on the same route."""
    a = s.autoscaling
    return AutoscalerArgs(
        namespace=s.serving.namespace, name=name or s.serving.name, deployment_name=deployment_name,
        metric=a.metric, bounds=track or a.bounds, behavior=a.behavior, labels=labels, depends_on=depends_on)


def network_peers(s: Settings, track: str) -> Optional[NetworkPeers]:
    """Who may connect to a track's serving pods (`track`: its name, whose version gate asks them);
    None: no NetworkPolicy (`network.policy: false`)."""
    n = s.network
    if n is None:
        return None
    return NetworkPeers(network=n, check_pod_labels=gate_labels(track))


def canary_inputs(s: Settings, main: ServingInputs) -> Optional[ServingInputs]:
    """The canary track: pods of their own (one ResourcePolicy with the main track's: `group`) that
    load only the canary's files, from the canary directory where they sit under the served
    version's number (so they answer the path the main Ingress rewrites every request to) and under
    their own; always rolled (a new canary version is a new pod)."""
    canary = s.model.canary
    if canary is None:
        return None
    # Its own number too: a promotion moves the main rewrite to it before the canary Ingress goes
    # (Pulumi deletes at the end of an update), and the canary's pods answer it meanwhile.
    return replace(main, name=f"{main.name}{CANARY_SUFFIX}", versions=(main.served_version, canary.version),
                   in_place=False, group=main.name, model_subdir=CANARY_DIR, canary_version=canary.version)


@dataclass(frozen=True)
class Track:
    """One track's components, as the endpoint and the outputs need them."""

    serving: TfServing
    gate: ServeGate
    scaler: Autoscaler


def serving_track(key: str, s: Settings, inputs: ServingInputs, placement_of: CapacityComponent, bounds: HpaBounds,
                  labels: dict[str, str], after: Sequence[pulumi.Resource], metrics: Sequence[pulumi.Resource],
                  retire: Optional[RetireCheck], opts: pulumi.ResourceOptions) -> Track:
    """A track's workload, its serve gate, its HPA and (asleep outside working hours) its idle
    schedule. `key` suffixes the component names ("" for the main track, "-canary"); `metrics`: what
    the HPA's metric needs first (the adapter, and the edge-log check)."""
    serving = TfServing(f"serving{key}", TfServingArgs(
        serving=inputs, placement=placement_of.placement, network=network_peers(s, inputs.name),
        depends_on=after, model_config_after=[retire] if retire is not None else []), opts)
    gate = ServeGate(f"serve-gate{key}", ServeGateArgs(
        serving=inputs, own_access=None if retire is not None else s.serving.name,
        depends_on=[serving]), opts)
    scaler = Autoscaler(f"autoscaler{key}", autoscaler_args(s, serving.deployment_name, labels, metrics,
                                                            bounds, inputs.name), opts)
    idle = s.autoscaling.idle
    if idle is not None:
        IdleSchedule(f"idle{key}", IdleScheduleArgs(serving=inputs, hours=idle, min_replicas=bounds.min_replicas,
                                                    depends_on=[scaler]), opts)
    return Track(serving, gate, scaler)


def observability_args(s: Settings) -> ObservabilityArgs:
    """The route's dashboard and alerts, in the project and logstore the HPA's metric reads."""
    return ObservabilityArgs(
        metric=s.autoscaling.metric, bounds=s.autoscaling.bounds, region=s.region, host=s.ingress.host,
        name=f"ei-{s.stack}-{s.serving.name}"[:63], alerts=s.alerts)


def build(s: Settings) -> dict[str, Any]:
    """Register the stack's component tree; return its outputs by name (None where a mode has none)."""
    ns, name = s.serving.namespace, s.serving.name
    labels = recommended_labels(name, s.serving.image_version)
    store = ModelStore("model", ModelStoreArgs(storage=s.storage, model=s.model, region=s.region, protect=s.protect))
    cluster = Cluster("cluster", ClusterArgs(cluster_id=s.cluster_id, namespace=ns,
                                             labels={"app.kubernetes.io/part-of": "elastic-inference"}))
    in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

    capacity = capacity_component(s.capacity, s, in_cluster, image_cache(s.capacity), cluster.namespace)
    volume = ModelVolume("model-volume", ModelVolumeArgs(
        volume=VolumeInputs(namespace=ns, name=name, bucket=s.storage.bucket, endpoint=store.endpoint_host,
                            prefix=s.storage.prefix),
        reader=s.storage.auth,
        stack=s.stack, cluster_id=s.cluster_id, upload=[store], depends_on=[cluster]), in_cluster)
    inputs = serving_inputs(s, volume.planned_claim_name)
    tracks = s.autoscaling.tracks
    canary = canary_inputs(s, inputs)
    # A version change: the retire check, the model config (reloaded in place), the serve gate, then
    # the endpoint (components/serving/versions/).
    retire = RetireCheck("retire-check", RetireCheckArgs(
        serving=inputs, ingress_name=name, canary=s.model.canary.version if s.model.canary else None,
        depends_on=[cluster]), in_cluster)
    edge = s.autoscaling.edge_log
    metrics = [cluster.metrics_adapter] if edge is None else [cluster.metrics_adapter, EdgeLogCheck(
        "edge-log-check", EdgeLogCheckArgs(namespace=ns, name=name, image=s.serving.check_image, edge=edge,
                                           depends_on=[cluster]), in_cluster).job]
    main = serving_track("", s, inputs, capacity, tracks.main, labels, [volume, cluster], metrics, retire, in_cluster)
    # tracks.canary (its share of the HPA) is None exactly when model.canary is.
    second = None if canary is None or tracks.canary is None else serving_track(
        CANARY_SUFFIX, s, canary, capacity, tracks.canary, labels, [volume, cluster, retire], metrics, None, in_cluster)
    endpoint = PublicEndpoint("endpoint", PublicEndpointArgs(
        namespace=ns, name=name, ingress=s.ingress, service_name=main.serving.service_name,
        service_port=main.serving.rest_port, model_name=s.model.name, served_version=s.model.served_version,
        labels=labels, canary=None if second is None or s.model.canary is None else CanaryRoute(
            canary=s.model.canary, service_name=second.serving.service_name, depends_on=[second.gate]),
        depends_on=[main.gate, *([second.gate] if second else [])]), in_cluster)

    observability = Observability("observability", observability_args(s))

    return {
        "endpointUrl": endpoint.url,
        "predictUrl": endpoint.url.apply(lambda u: u + predict_path(s.model.name)),
        "grpcAddress": main.serving.service_name.apply(
            lambda svc: f"{svc}.{ns}.svc.cluster.local:{main.serving.grpc_port}")
        if grpc_reachable(s) else None,
        "namespace": cluster.namespace,
        "deploymentName": main.serving.deployment_name,
        "hpaName": main.scaler.hpa_name,
        "bucket": store.bucket,
        "ossEndpoint": store.endpoint,
        "modelUri": store.model_uri,
        "servedVersion": main.gate.served_version,
        "loadedVersions": sorted(s.model.versions),
        "canaryVersion": s.model.canary.version if s.model.canary else None,
        "canaryWeight": s.model.canary.weight if s.model.canary else None,
        "capacityMode": "nodepool" if isinstance(s.capacity, settings.NodePool) else "eci",
        # What the idle schedule does, in hours a week, shown by the preview before anything changes.
        "awakeHours": awake_text(s.autoscaling.idle),
        "capacity": capacity.placement.describe,
        "nodePoolId": capacity.node_pool_id if isinstance(capacity, GpuNodePool) else None,
        "dashboardUrl": observability.dashboard_url,
    }
