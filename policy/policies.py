"""Guardrails for elastic-inference stacks, as Pulumi CrossGuard policies.

Each policy's check is a plain function of (args, report_violation) so the unit tests feed it
resources directly; `POLICIES` wraps them for the pack in `__main__.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from pulumi.runtime.rpc import UNKNOWN  # a value not known until apply (preview)
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.network.public_endpoint import ANNOTATION_ALLOW, ANNOTATION_RPS
from components.scaling.idle.schedule import IDLE_COMPONENT
from config.image_ref import image_pin_problem
from config.instance_types import CATALOG

Report = Callable[..., None]

BUCKET = "alicloud:oss/bucket:Bucket"
BUCKET_ACL = "alicloud:oss/bucketAcl:BucketAcl"
BUCKET_SSE = "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption"
BUCKET_PAB = "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock"
NODE_POOL = "alicloud:cs/nodePool:NodePool"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
PV = "kubernetes:core/v1:PersistentVolume"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
WORKLOADS = {
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod",
}
CLUSTER_SCOPED = {
    "Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "IngressClass", "PriorityClass", "Node", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "RuntimeClass",
}
# An Alibaba Cloud AccessKey id, and the names that carry keys in PVs, env vars and configs.
ACCESS_KEY_ID = re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b")
KEY_NAMES = re.compile(
    r"(?i)^(ak_?id|ak_?secret|access_?key(_?id|_?secret)?|secret_?key|alicloud_(access|secret)_key)$"
)
DEFAULT_ECI_MAX_REPLICAS = 20
DEFAULT_TLS_STACKS = ["prod"]
DEFAULT_ALWAYS_ON_STACKS = ["prod"]
CRON_JOB = "kubernetes:batch/v1:CronJob"


def _stack_of(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::... -> <stack>."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def _by_type(resources: Iterable[Any], type_: str) -> list[Any]:
    return [r for r in resources if r.resource_type == type_]


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Containers of a workload or pod manifest (all levels of template nesting)."""
    spec = props.get("spec") or {}
    for path in (("jobTemplate", "spec", "template", "spec"), ("template", "spec"), ()):
        node: Any = spec
        for part in path:
            node = (node or {}).get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and ("containers" in node or "initContainers" in node):
            return list(node.get("containers") or []) + list(node.get("initContainers") or [])
    return []


# --- OSS ------------------------------------------------------------------------------------

def bucket_private_encrypted(args: StackValidationArgs, report: Report) -> None:
    """Every bucket has a private ACL, default encryption and the public-access block."""
    resources = args.resources
    for bucket in _by_type(resources, BUCKET):
        name = bucket.props.get("bucket")
        if bucket.props.get("acl") not in (None, "private"):
            report(f"bucket {name!r} sets a non-private inline ACL {bucket.props.get('acl')!r}", bucket.urn)

        def targeting(type_: str, name: Any = name) -> list[Any]:
            return [r for r in _by_type(resources, type_) if r.props.get("bucket") == name]

        acls = targeting(BUCKET_ACL)
        if not acls or any(a.props.get("acl") != "private" for a in acls):
            report(f"bucket {name!r} needs an oss.BucketAcl with acl 'private'", bucket.urn)
        if not any(r.props.get("sseAlgorithm") in ("AES256", "KMS", "SM4") for r in targeting(BUCKET_SSE)):
            report(f"bucket {name!r} needs server-side encryption (oss.BucketServerSideEncryption)", bucket.urn)
        if not any(r.props.get("blockPublicAccess") is True for r in targeting(BUCKET_PAB)):
            report(f"bucket {name!r} needs oss.BucketPublicAccessBlock with blockPublicAccess true", bucket.urn)


# --- Credentials ----------------------------------------------------------------------------

def _key_findings(value: Any, where: str) -> Iterable[str]:
    if isinstance(value, str) and ACCESS_KEY_ID.search(value):
        yield f"{where} holds an AccessKey id"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if KEY_NAMES.match(str(key)) and item not in (None, ""):
                yield f"{where}.{key} holds a credential"
            else:
                yield from _key_findings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _key_findings(item, f"{where}[{index}]")


def no_plaintext_access_keys(args: ResourceValidationArgs, report: Report) -> None:
    """No access key in a PV's attributes, a container's env, or a ConfigMap."""
    props = args.props
    findings: list[str] = []
    if args.resource_type == PV:
        csi = (props.get("spec") or {}).get("csi") or {}
        findings += _key_findings(csi.get("volumeAttributes") or {}, "spec.csi.volumeAttributes")
    if args.resource_type in WORKLOADS:
        for container in _containers(props):
            for env in container.get("env") or []:
                name = str(env.get("name", ""))
                if "value" in env and (KEY_NAMES.match(name) or ACCESS_KEY_ID.search(str(env["value"]))):
                    findings.append(f"container {container.get('name')!r} env {name} holds a credential "
                                    "(use valueFrom.secretKeyRef)")
    if args.resource_type == CONFIG_MAP:
        findings += _key_findings(props.get("data") or {}, "data")
    for finding in findings:
        report(finding)


# --- Workload and scaling -------------------------------------------------------------------

def _hpa_targets(resources: Iterable[Any]) -> list[tuple[Any, str, str]]:
    out = []
    for hpa in _by_type(resources, HPA):
        spec = hpa.props.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        namespace = (hpa.props.get("metadata") or {}).get("namespace")
        if ref.get("kind") == "Deployment":
            out.append((hpa, namespace, ref.get("name")))
    return out


def _deployment(resources: Iterable[Any], namespace: Optional[str], name: Optional[str]) -> Optional[Any]:
    for d in _by_type(resources, DEPLOYMENT):
        meta = d.props.get("metadata") or {}
        if meta.get("name") == name and meta.get("namespace") == namespace:
            return d
    return None


def serving_gpu_and_hpa_replicas(args: StackValidationArgs, report: Report) -> None:
    """The serving Deployment limits GPUs; a Deployment an HPA scales sets no `replicas`."""
    for d in _by_type(args.resources, DEPLOYMENT):
        template = (d.props.get("spec") or {}).get("template") or {}
        template_labels = (template.get("metadata") or {}).get("labels") or {}
        if template_labels.get("app.kubernetes.io/name") == "tensorflow-serving":
            for container in _containers(d.props):
                limits = (container.get("resources") or {}).get("limits") or {}
                if not limits.get("nvidia.com/gpu"):
                    report(f"serving container {container.get('name')!r} has no nvidia.com/gpu limit", d.urn)
    for hpa, namespace, name in _hpa_targets(args.resources):
        target = _deployment(args.resources, namespace, name)
        if target is None:
            report(f"HPA targets Deployment {namespace}/{name}, which this stack does not define", hpa.urn)
        elif "replicas" in (target.props.get("spec") or {}):
            report(f"Deployment {namespace}/{name} sets spec.replicas while an HPA scales it: every "
                   "update would reset the replica count", target.urn)


def _pods_per_node(pool: Any, deployment: Optional[Any]) -> Optional[int]:
    """Serving pods one node of the pool's smallest listed type holds, by GPUs."""
    gpus_per_pod = 1
    if deployment is not None:
        for container in _containers(deployment.props):
            limit = ((container.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")
            if limit not in (None, UNKNOWN):
                gpus_per_pod = max(1, int(float(limit)))
    counts = []
    for instance_type in pool.props.get("instanceTypes") or []:
        spec = CATALOG.get(instance_type)
        if spec is None:
            return None
        counts.append(spec.gpus // gpus_per_pod)
    return min(counts) if counts else None


def hpa_within_capacity(args: StackValidationArgs, report: Report) -> None:
    """An HPA may not ask for more pods than the capacity can hold."""
    config = args.get_config()
    pools = _by_type(args.resources, NODE_POOL)
    for hpa, namespace, name in _hpa_targets(args.resources):
        max_replicas = (hpa.props.get("spec") or {}).get("maxReplicas")
        if max_replicas in (None, UNKNOWN):
            continue
        if pools:
            room = 0
            for pool in pools:
                per_node = _pods_per_node(pool, _deployment(args.resources, namespace, name))
                max_size = ((pool.props.get("scalingConfig") or {}).get("maxSize"))
                if per_node is None or max_size in (None, UNKNOWN):
                    report(f"cannot bound HPA maxReplicas: pool {pool.name} lists an unknown instance type "
                           "or no maxSize", hpa.urn)
                    return
                room += per_node * int(max_size)
            if int(max_replicas) > room:
                report(f"HPA maxReplicas {int(max_replicas)} exceeds what the node pool holds ({room} pods)", hpa.urn)
        else:
            bound = int(config.get("eciMaxReplicas", DEFAULT_ECI_MAX_REPLICAS))
            if int(max_replicas) > bound:
                report(f"HPA maxReplicas {int(max_replicas)} exceeds the ECI bound {bound} "
                       "(policy config eciMaxReplicas)", hpa.urn)


# --- Exposure and hygiene -------------------------------------------------------------------

def ingress_host_and_tls(args: ResourceValidationArgs, report: Report) -> None:
    """Every Ingress rule names a host; stacks listed in tlsStacks must terminate TLS."""
    if args.resource_type != INGRESS:
        return
    spec = args.props.get("spec") or {}
    rules = spec.get("rules") or []
    if not rules:
        report("Ingress has no rules (a default backend on every host)")
    for index, rule in enumerate(rules):
        if not rule.get("host"):
            report(f"Ingress rule {index} has no host: it would answer for every host name")
    tls_stacks = args.get_config().get("tlsStacks", DEFAULT_TLS_STACKS)
    if _stack_of(args.urn) in tls_stacks:
        hosts = {r.get("host") for r in rules}
        covered = {h for t in spec.get("tls") or [] for h in t.get("hosts") or [] if t.get("secretName")}
        if not hosts <= covered:
            report(f"stack {_stack_of(args.urn)!r} requires TLS for {sorted(h for h in hosts - covered if h)}")


def idle_schedule_not_always_on(args: ResourceValidationArgs, report: Report) -> None:
    """A stack listed in alwaysOnStacks never gets the idle schedule's CronJobs (zero pods at night)."""
    if args.resource_type != CRON_JOB:
        return
    labels = (args.props.get("metadata") or {}).get("labels") or {}
    always_on = args.get_config().get("alwaysOnStacks", DEFAULT_ALWAYS_ON_STACKS)
    if labels.get("app.kubernetes.io/component") == IDLE_COMPONENT and _stack_of(args.urn) in always_on:
        report(f"stack {_stack_of(args.urn)!r} must stay always-on (policy config alwaysOnStacks): "
               "set autoscaling.idle.mode to always-on")


ALERT = "alicloud:log/alert:Alert"


def always_on_stacks_alerted(args: StackValidationArgs, report: Report) -> None:
    """A stack listed in alwaysOnStacks (callers rely on it around the clock) has the SLS alerts
    of components/observability/sls.py: someone hears of errors, latency and a full autoscaler."""
    always_on = args.get_config().get("alwaysOnStacks", DEFAULT_ALWAYS_ON_STACKS)
    stacks = {_stack_of(r.urn) for r in args.resources}
    for stack in sorted(stacks & set(always_on)):
        if not [r for r in _by_type(args.resources, ALERT) if _stack_of(r.urn) == stack]:
            report(f"stack {stack!r} is always-on (policy config alwaysOnStacks) but has no alerts: set the "
                   "alerts section (docs/alerts.md)")


# ingress-nginx annotations that restrict who reaches an Ingress, or how fast
# (kubernetes/ingress-nginx:docs/user-guide/nginx-configuration/annotations.md at dbb11b92).
# The two the stack writes come from the component that writes them.
SOURCE_RANGE = ANNOTATION_ALLOW
RATE_LIMITS = (ANNOTATION_RPS, *(f"nginx.ingress.kubernetes.io/{k}" for k in ("limit-rpm", "limit-connections")))


def public_endpoint_restricted(args: ResourceValidationArgs, report: Report) -> None:
    """An Internet-facing Ingress has at least one of: a source allow-list, a per-client rate limit,
    TLS. With none, anyone can push the HPA to maxReplicas GPU pods."""
    if args.resource_type != INGRESS:
        return
    annotations = (args.props.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SOURCE_RANGE) or any(annotations.get(k) for k in RATE_LIMITS):
        return
    if any(t.get("secretName") for t in (args.props.get("spec") or {}).get("tls") or []):
        return
    report("Ingress is open to any address, unlimited and plain HTTP: set ingress.allowSourceCidrs, "
           "ingress.rateLimitRps or ingress.tlsSecretName")


def images_pinned(args: ResourceValidationArgs, report: Report) -> None:
    """Every container image names a tag (not latest) or a digest."""
    if args.resource_type not in WORKLOADS:
        return
    for container in _containers(args.props):
        image = str(container.get("image", ""))
        problem = None if image == UNKNOWN else image_pin_problem(image)
        if problem:
            report(f"container {container.get('name')!r} image {container.get('image')!r} {problem}")


def namespaced_objects(args: ResourceValidationArgs, report: Report) -> None:
    """Every namespaced Kubernetes object names its namespace (never the implicit default)."""
    if not args.resource_type.startswith("kubernetes:") or args.resource_type.rsplit(":", 1)[-1] in CLUSTER_SCOPED:
        return
    if args.resource_type.startswith("kubernetes:yaml") or args.resource_type.startswith("kubernetes:helm"):
        return  # components: their children are checked one by one
    namespace = (args.props.get("metadata") or {}).get("namespace")
    if not namespace:
        report("Kubernetes object without metadata.namespace: it would land in the provider's default")
    elif namespace == "default":
        report("Kubernetes object in the 'default' namespace")


@dataclass(frozen=True)
class Guardrail:
    """One policy of the pack: its check and how the engine runs it."""

    name: str
    description: str
    check: Callable[..., None]
    per_stack: bool
    """True: the check sees every resource at once (StackValidationArgs); False: one at a time."""
    config: Optional[dict[str, Any]] = None
    """Properties of the policy's config schema, with their defaults."""

    def policy(self):
        kind = StackValidationPolicy if self.per_stack else ResourceValidationPolicy
        schema = None if self.config is None else PolicyConfigSchema(properties=self.config)
        return kind(name=self.name, description=self.description, validate=self.check,
                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=schema)


GUARDRAILS = [
    Guardrail("oss-bucket-private-encrypted", "OSS buckets are private, encrypted and block public access.",
              bucket_private_encrypted, per_stack=True),
    Guardrail("no-plaintext-access-keys", "No access key in a PersistentVolume, an env var or a ConfigMap.",
              no_plaintext_access_keys, per_stack=False),
    Guardrail("serving-gpu-and-hpa-owned-replicas",
              "The serving Deployment has GPU limits and no replicas when an HPA scales it.",
              serving_gpu_and_hpa_replicas, per_stack=True),
    Guardrail("hpa-within-capacity", "HPA maxReplicas fits in the node pool (or the configured ECI bound).",
              hpa_within_capacity, per_stack=True,
              config={"eciMaxReplicas": {"type": "integer", "default": DEFAULT_ECI_MAX_REPLICAS}}),
    Guardrail("ingress-host-and-tls", "Every Ingress rule has a host; stacks in tlsStacks terminate TLS.",
              ingress_host_and_tls, per_stack=False,
              config={"tlsStacks": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_TLS_STACKS}}),
    Guardrail("public-endpoint-restricted",
              "An Ingress has a source allow-list, a per-client rate limit or TLS.",
              public_endpoint_restricted, per_stack=False),
    Guardrail("images-pinned", "Container images are pinned to a tag or digest, never latest.",
              images_pinned, per_stack=False),
    Guardrail("idle-schedule-not-always-on",
              "Stacks in alwaysOnStacks get no idle schedule (they keep minReplicas around the clock).",
              idle_schedule_not_always_on, per_stack=False,
              config={"alwaysOnStacks": {"type": "array", "items": {"type": "string"},
                                         "default": DEFAULT_ALWAYS_ON_STACKS}}),
    Guardrail("always-on-stacks-alerted",
              "Stacks in alwaysOnStacks have SLS alerts on errors, latency and the autoscaler's ceiling.",
              always_on_stacks_alerted, per_stack=True,
              config={"alwaysOnStacks": {"type": "array", "items": {"type": "string"},
                                         "default": DEFAULT_ALWAYS_ON_STACKS}}),
    Guardrail("kubernetes-objects-namespaced",
              "Every namespaced Kubernetes object names a namespace other than default.",
              namespaced_objects, per_stack=False),
]

POLICIES: list[Policy] = [g.policy() for g in GUARDRAILS]
