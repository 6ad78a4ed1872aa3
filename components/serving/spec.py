"""Pure builders for the TensorFlow Serving workload: model config text and the manifests.

Manifests are plain Kubernetes dicts (camelCase, as `kubectl` reads them) so tests validate them
against the Kubernetes schemas directly and the component passes them to pulumi-kubernetes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from components.capacity.placement import Placement
from components.serving.versions.checks import CANARY_VERSION
from components.serving.versions.served import pinned_probe, served_mount, served_probe, served_volume
from settings import Network

CONFIG_DIR = "/etc/tfserving"
MODEL_ROOT = "/models"
MODEL_CONFIG_FILE = "models.config"
# Read once, at start (model_servers/server.cc BuildAndStart: 1.15.0 L210-224, 2.19.1 L224-241):
# a change rolls the pods (BATCHING_ANNOTATION).
BATCHING_FILE = "batching_parameters.txt"
BATCHING_ANNOTATION = "elastic-inference.io/batching"
MONITORING_CONFIG_FILE = "monitoring.config"
METRICS_PATH = "/monitoring/prometheus/metrics"
SERVER_BINARY = "/usr/bin/tensorflow_model_server"
# A fixed non-root identity above the range images and hosts allocate to their own users (checkov
# CKV_K8S_40 asks for >= 10000); the OSS mount is world-readable (allow_other, umask=022), so any
# uid reads the model.
RUN_AS_UID = 10001
# Endpoints are removed from the Service and the ingress upstream before SIGTERM arrives.
PRESTOP_SLEEP_SECONDS = 15
# preStop + draining in-flight requests; spot reclaims give minutes of notice, this fits in.
TERMINATION_GRACE_SECONDS = 60
# Loading a multi-GB model from OSS onto a cold GPU node: allow 15 minutes before restarting.
STARTUP_PERIOD_SECONDS = 10
STARTUP_FAILURE_THRESHOLD = 90
# When a listed GPU runs the image only through PTX, the driver compiles every kernel at the first
# start, which TensorFlow warns "could take 30 minutes or longer"
# (tensorflow/core/common_runtime/gpu/gpu_device.cc): budget that on top of the model load.
JIT_COMPILE_SECONDS = 1800
# The compiled kernels go to the CUDA JIT cache, by default ~/.nv/ComputeCache, which a read-only
# root filesystem makes unwritable: every kernel would be compiled again on every start. A
# writable cache directory and a size above the default (CUDA_CACHE_PATH, CUDA_CACHE_MAXSIZE in
# bytes: docs.nvidia.com/cuda/cuda-programming-guide/05-appendices/environment-variables.html;
# developer.nvidia.com/blog/cuda-pro-tip-understand-fat-binaries-jit-caching/).
CUDA_CACHE_DIR = "/var/cache/cuda"
CUDA_CACHE_BYTES = 2 * 2**30
# Node or ECI provisioning and the multi-GB image pull, before the startup probe's budget begins.
PROVISION_SECONDS = 25 * 60
# How often the server re-reads its model config file (--model_config_file_poll_wait_seconds, in
# tensorflow_serving/model_servers/main.cc at 1.15.0 and at 2.19.1, the range of images
# config/images.py knows): a version added or removed in the ConfigMap is loaded or unloaded in
# place, once the kubelet has refreshed the mounted file (about a minute).
MODEL_CONFIG_POLL_SECONDS = 30
# A failed load is retried this often, this far apart, inside one load action; the version stays
# LOADING meanwhile and reports END with the error after the last attempt
# (--max_num_load_retries, --load_retry_interval_micros: main.cc at 1.15.0 L107-116 and 2.19.1
# L163-172; tensorflow_serving/core/loader_harness.cc Load and util/retrier.cc at 1.15.0). TF
# Serving's defaults (5, one minute) keep a broken version LOADING for over five minutes; two
# retries 30 s apart still cover a file that appears a little late on the OSS mount.
LOAD_RETRIES = 2
LOAD_RETRY_INTERVAL_SECONDS = 30
# Pod template annotations: the reload generation (`model.reload`) and, where a version change
# rolls the pods, the model config's content hash.
RELOAD_ANNOTATION = "elastic-inference.io/reload"
MODEL_CONFIG_ANNOTATION = "elastic-inference.io/model-config"
# The canary Ingress carries the same annotation (the retire check reads it there).
CANARY_ANNOTATION = CANARY_VERSION


@dataclass(frozen=True, kw_only=True)
class ServingInputs:
    """Everything the serving manifests are built from (all plain values); where the pods run
    comes separately, as the capacity's Placement."""

    namespace: str
    """Namespace of every object."""
    name: str
    """Deployment, Service, ServiceAccount and PDB name."""
    image: str
    """Serving image, pinned."""
    image_version: str
    """The image's tag or digest, for the `app.kubernetes.io/version` label."""
    gpus: int
    """nvidia.com/gpu per pod."""
    cpu: str
    """CPU request and limit (quantity)."""
    memory: str
    """Memory request and limit (quantity)."""
    model_name: str
    versions: tuple[int, ...]
    served_version: int
    """The version the endpoint serves (one of `versions`)."""
    claim_name: str
    """The model volume's PVC."""
    poll_seconds: int
    """`--file_system_poll_wait_seconds`."""
    check_image: str
    """Image of the version gate's check Jobs and the idle schedule's CronJobs."""
    rest_port: int
    """TF Serving's REST port (`--rest_api_port`): the Service, the Ingress, the probes."""
    grpc_port: int
    """TF Serving's gRPC port (`--port`)."""
    in_place: bool = True
    """A version change reloads the running servers in place (the model config file edited, the
    served version read from a file); False: it rolls the pods (ECI, or a directory listed once)."""
    reload: int = 0
    """The reload generation: raising it restarts every pod once (`model.reload`)."""
    metrics_scrapable: bool = True
    """A scraper can reach the metrics port (no NetworkPolicy, or one that admits scrapers): only
    then do the pods advertise their metrics (`prometheus.io/*`)."""
    jit_compile: bool = False
    """Some GPU it may land on runs the image only through PTX compiled at start-up
    (config/images.py): give the compile a writable cache and time."""
    batching: Optional[str] = None
    """The text-format BatchingParameters file (`serving.batching`); None: batching off."""
    group: str = ""
    """The serving name both tracks share (`GROUP_LABEL` on their pods: what the capacity's
    ResourcePolicy selects); empty: `name` (the main track)."""
    model_subdir: str = ""
    """Where in the model volume the model's base path is: empty for the main track, `canary` for
    the canary's (its files under the served version's number: docs/model-versions.md)."""
    canary_version: Optional[int] = None
    """The canary track's own version, whose files it serves under `served_version`'s number: in
    its pods' template, so a new canary version rolls them (TF Serving never notices files
    replaced under a version it loaded); None: the main track."""

    @property
    def group_name(self) -> str:
        return self.group or self.name


@dataclass(frozen=True, kw_only=True)
class NetworkPeers:
    """Who may open connections to the serving pods; everything else in the cluster may not."""

    network: Network
    """The ingress controller (REST port), gRPC clients, metrics scrapers (REST port)."""
    check_pod_labels: Mapping[str, str]
    """Labels of the version gate's pods, in the serving namespace (they ask each server for a
    version's state)."""


def content_hash(content: Any) -> str:
    """Short stable hash of JSON-able content, for names of immutable objects."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]


def model_base_path(model_name: str) -> str:
    """Where the OSS volume is mounted in the container (the main track's base_path)."""
    return f"{MODEL_ROOT}/{model_name}"


def track_base_path(s: ServingInputs) -> str:
    """The model config's base_path: the volume's root, or the track's directory in it. TF Serving
    takes only the integer-named children of a base path as versions and skips the rest
    (file_system_storage_path_source.cc at 1.15.0 L126-131, IndexChildrenByVersion), so the main
    track never sees the canary's directory."""
    base = model_base_path(s.model_name)
    return f"{base}/{s.model_subdir}" if s.model_subdir else base


# Both tracks' pods carry it: one ResourcePolicy places them all (components/capacity/node_pool.py).
GROUP_LABEL = "elastic-inference.io/serving"


def group_labels(group: str) -> dict[str, str]:
    return {GROUP_LABEL: group}


def selector_labels(name: str) -> dict[str, str]:
    """The immutable Deployment selector: never add to it (changing it forces a replacement)."""
    return {"app.kubernetes.io/name": "tensorflow-serving", "app.kubernetes.io/instance": name}


def recommended_labels(name: str, image_version: str) -> dict[str, str]:
    """Kubernetes recommended labels on every object of the workload."""
    return {
        **selector_labels(name),
        "app.kubernetes.io/version": image_version,
        "app.kubernetes.io/component": "inference-server",
        "app.kubernetes.io/part-of": "elastic-inference",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def object_meta(s: ServingInputs, name: Optional[str] = None) -> dict:
    """Name (the serving name by default), namespace and recommended labels of an object."""
    return {
        "name": s.name if name is None else name,
        "namespace": s.namespace,
        "labels": recommended_labels(s.name, s.image_version),
    }


def model_config_text(model_name: str, base_path: str, versions: Sequence[int]) -> str:
    """TF Serving ModelServerConfig (text proto) serving exactly `versions`.

    The version policy can only be set here: `--model_version_policy` is no flag and arena's
    `--version-policy` does nothing (kubeflow/arena#703).
    """
    version_lines = "".join(f"        versions: {v}\n" for v in sorted(versions))
    return (
        "model_config_list {\n"
        "  config {\n"
        f"    name: {json.dumps(model_name)}\n"
        f"    base_path: {json.dumps(base_path)}\n"
        '    model_platform: "tensorflow"\n'
        "    model_version_policy {\n"
        "      specific {\n"
        f"{version_lines}"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def monitoring_config_text() -> str:
    """Prometheus metrics on the REST port."""
    return f'prometheus_config {{\n  enable: true\n  path: "{METRICS_PATH}"\n}}\n'


def config_map_manifest(s: ServingInputs) -> dict:
    """The server's config files, under a stable name: a change of the loaded versions edits the
    mounted file, which the server polls and applies in place (no pod restarts)."""
    data = {
        MODEL_CONFIG_FILE: model_config_text(s.model_name, track_base_path(s), s.versions),
        MONITORING_CONFIG_FILE: monitoring_config_text(),
        **({} if s.batching is None else {BATCHING_FILE: s.batching}),
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(s, f"{s.name}-config"), "data": data}


def server_args(s: ServingInputs) -> list[str]:
    """tensorflow_model_server flags."""
    return [
        f"--port={s.grpc_port}",
        f"--rest_api_port={s.rest_port}",
        f"--model_config_file={CONFIG_DIR}/{MODEL_CONFIG_FILE}",
        f"--monitoring_config_file={CONFIG_DIR}/{MONITORING_CONFIG_FILE}",
        # The default 1 s poll is one OSS LIST per second per pod through ossfs
        # (tensorflow/serving#1916); versions change through the model config here, so poll rarely.
        f"--file_system_poll_wait_seconds={s.poll_seconds}",
        f"--model_config_file_poll_wait_seconds={MODEL_CONFIG_POLL_SECONDS}",
        f"--max_num_load_retries={LOAD_RETRIES}",
        f"--load_retry_interval_micros={LOAD_RETRY_INTERVAL_SECONDS * 10**6}",
        # A file without --enable_batching stops the server (server.cc, 1.15.0 L220-223).
        *([] if s.batching is None else ["--enable_batching=true",
                                         f"--batching_parameters_file={CONFIG_DIR}/{BATCHING_FILE}"]),
    ]


def load_seconds(jit_compile: bool) -> int:
    """The longest a version's load may take on a running server before it reports AVAILABLE or
    END: every attempt within the startup budget, and the waits between them."""
    return startup_seconds(jit_compile) + LOAD_RETRIES * LOAD_RETRY_INTERVAL_SECONDS


def metrics_annotations(s: ServingInputs) -> dict[str, str]:
    """Where a Prometheus that discovers pods by annotation finds TF Serving's metrics (the
    monitoring config turns them on at METRICS_PATH on the REST port)."""
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(s.rest_port), "prometheus.io/path": METRICS_PATH}


def startup_seconds(jit_compile: bool) -> int:
    """How long the startup probe lets the server come up before the kubelet restarts it."""
    return STARTUP_PERIOD_SECONDS * STARTUP_FAILURE_THRESHOLD + (JIT_COMPILE_SECONDS if jit_compile else 0)


def rollout_seconds(jit_compile: bool) -> int:
    """How long one new pod may take to become ready: provisioning, then the startup budget."""
    return PROVISION_SECONDS + startup_seconds(jit_compile)


def workload_timeout(jit_compile: bool) -> str:
    """How long `pulumi up` waits for the Deployment: a new pod's whole budget."""
    return f"{rollout_seconds(jit_compile) // 60}m"


def service_account_manifest(s: ServingInputs) -> dict:
    """A dedicated identity without an API token: the server never talks to Kubernetes."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(s),
        "automountServiceAccountToken": False,
    }


def deployment_manifest(s: ServingInputs, placement: Placement, config_map_name: str) -> dict:
    """The serving Deployment, placed where the capacity says. No `replicas`: the HPA owns the
    count (pulumi-kubernetes#2491)."""
    resources: dict[str, dict[str, str]] = {
        "requests": {"cpu": s.cpu, "memory": s.memory},
        "limits": {"cpu": s.cpu, "memory": s.memory},
    }
    if s.gpus > 0:
        resources["requests"]["nvidia.com/gpu"] = str(s.gpus)
        resources["limits"]["nvidia.com/gpu"] = str(s.gpus)
    labels = recommended_labels(s.name, s.image_version)
    # In place, the probe reads the served version from a file the serve gate writes; rolling, the
    # version is in the probe itself (the pods roll when it changes).
    ready = served_probe(s.model_name, s.rest_port) if s.in_place else pinned_probe(s.model_name, s.served_version)
    container = {
        "name": "tensorflow-serving",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        # The image's entrypoint is a shell script without `exec`: run the server directly so
        # SIGTERM reaches it and in-flight requests finish.
        "command": [SERVER_BINARY],
        "args": server_args(s),
        "ports": [
            {"name": "grpc", "containerPort": s.grpc_port, "protocol": "TCP"},
            {"name": "http", "containerPort": s.rest_port, "protocol": "TCP"},
        ],
        "resources": resources,
        "startupProbe": {
            **ready,
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "timeoutSeconds": 5,
            "failureThreshold": startup_seconds(s.jit_compile) // STARTUP_PERIOD_SECONDS,
        },
        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        # Liveness asks only whether the server answers; a slow model must not cause restarts.
        "livenessProbe": {
            "httpGet": {"path": f"/v1/models/{s.model_name}", "port": "http"},
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SLEEP_SECONDS)]}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_UID,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "model", "mountPath": model_base_path(s.model_name), "readOnly": True},
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            *([served_mount()] if s.in_place else []),
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    if s.jit_compile:
        container["env"] = [
            {"name": "CUDA_CACHE_PATH", "value": CUDA_CACHE_DIR},
            {"name": "CUDA_CACHE_MAXSIZE", "value": str(CUDA_CACHE_BYTES)},
        ]
        container["volumeMounts"].append({"name": "cuda-cache", "mountPath": CUDA_CACHE_DIR})
    pod_spec: dict[str, Any] = {
        "serviceAccountName": s.name,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        # Spread across zones when possible: a spot reclaim in one zone keeps the others serving.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector_labels(s.name)},
            }
        ],
        "containers": [container],
        "volumes": [
            {"name": "model", "persistentVolumeClaim": {"claimName": s.claim_name, "readOnly": True}},
            {"name": "config", "configMap": {"name": config_map_name}},
            *([served_volume(s.name)] if s.in_place else []),
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
    }
    if s.jit_compile:
        cache_limit = f"{CUDA_CACHE_BYTES // 2**30 + 1}Gi"
        pod_spec["volumes"].append({"name": "cuda-cache", "emptyDir": {"sizeLimit": cache_limit}})
    if placement.node_selector:
        pod_spec["nodeSelector"] = dict(placement.node_selector)
    if placement.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in placement.tolerations]
    if placement.node_terms:
        pod_spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": k, "operator": "In", "values": [v]}
                                                        for k, v in sorted(term.items())]}
                                  for term in placement.node_terms]}}}
    annotations = {
        # The /tmp emptyDir would otherwise stop the cluster autoscaler from ever removing the
        # node under the pod: scale-in must be able to give GPU nodes back.
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
        RELOAD_ANNOTATION: str(s.reload),
        **(metrics_annotations(s) if s.metrics_scrapable else {}),
        **({} if s.in_place else {MODEL_CONFIG_ANNOTATION: content_hash(config_map_manifest(s)["data"])}),
        **({} if s.canary_version is None else {CANARY_ANNOTATION: str(s.canary_version)}),
        **({} if s.batching is None else {BATCHING_ANNOTATION: content_hash(s.batching)}),
        **dict(placement.pod_annotations),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(s),
        "spec": {
            "selector": {"matchLabels": selector_labels(s.name)},
            # Never drop below the current count during a rollout: new GPU pods come up first.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "revisionHistoryLimit": 5,
            # Kubernetes reports a rollout failed (Progressing=False, ProgressDeadlineExceeded) after
            # this long without progress (kubernetes.io/docs/concepts/workloads/controllers/
            # deployment/#failed-deployment): never before a new pod's own budget is spent.
            "progressDeadlineSeconds": rollout_seconds(s.jit_compile),
            "template": {
                "metadata": {"labels": {**labels, **group_labels(s.group_name), **dict(placement.pod_labels)},
                             "annotations": annotations},
                "spec": pod_spec,
            },
        },
    }


def service_manifest(s: ServingInputs) -> dict:
    """ClusterIP Service with both ports, named so probes and the Ingress can refer to them."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(s),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(s.name),
            "ports": [
                {"name": "grpc", "port": s.grpc_port, "targetPort": "grpc", "protocol": "TCP"},
                {"name": "http", "port": s.rest_port, "targetPort": "http", "protocol": "TCP"},
            ],
        },
    }


def pods_service_name(name: str) -> str:
    """The headless Service of the serving pods."""
    return f"{name}-pods"


def pods_service_manifest(s: ServingInputs) -> dict:
    """A headless Service: its DNS name resolves to every ready serving pod, so the version gate
    can ask each of them (through the ClusterIP Service it would reach one at random)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(s, pods_service_name(s.name)),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(s.name),
            "ports": [{"name": "http", "port": s.rest_port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pdb_manifest(s: ServingInputs) -> dict:
    """At most one pod down for voluntary disruptions (drains, scale-in of the pool).

    maxUnavailable rather than minAvailable: with one replica, minAvailable: 1 would block
    every node drain forever.
    """
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(s),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector_labels(s.name)}},
    }


def _namespace_peer(namespace: str, pod_labels: Optional[Mapping[str, str]] = None) -> dict:
    """A NetworkPolicy peer: the pods of one namespace (by the label the API server sets on every
    namespace, `kubernetes.io/metadata.name`), narrowed to `pod_labels` when given."""
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_labels:
        peer["podSelector"] = {"matchLabels": dict(pod_labels)}
    return peer


def network_policy_manifest(s: ServingInputs, peers: NetworkPeers) -> dict:
    """Only the ingress controller and the metrics scrapers reach the REST port, only the listed
    client namespaces the gRPC port; nothing else in the cluster reaches the server.

    Ports are the pods' container ports. Kubelet probes come from the pod's own node, which a
    NetworkPolicy always admits (kubernetes.io/docs/concepts/services-networking/network-policies).
    """
    rest = [{"protocol": "TCP", "port": s.rest_port}]
    n = peers.network
    rules = [{"from": [_namespace_peer(n.ingress_namespace, n.ingress_pod_labels)], "ports": rest},
             # The version gate's pods ask each server whether a version is AVAILABLE (versions/).
             {"from": [{"podSelector": {"matchLabels": dict(peers.check_pod_labels)}}], "ports": rest}]
    if n.metrics_namespaces:
        rules.append({"from": [_namespace_peer(ns) for ns in n.metrics_namespaces], "ports": rest})
    if n.grpc_client_namespaces:
        rules.append({"from": [_namespace_peer(ns) for ns in n.grpc_client_namespaces],
                      "ports": [{"protocol": "TCP", "port": s.grpc_port}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(s),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(s.name)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
