"""Pure builders of the version gate: the check Jobs, their account, their network, their time.

A Job's name carries a hash of what it checks, so an update that changes nothing runs nothing,
and a change runs a new Job (the old one is deleted).

The time a change takes to reach a running server, in place (in the order it happens):
- the kubelet refreshes the mounted model config: within its sync period (`syncFrequency`,
  default 1m: k8s.io/kubelet:config/v1beta1/types.go) plus the watch cache's propagation
  ("as long as the kubelet sync period + cache propagation delay",
  https://kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically);
- TF Serving re-reads the file every MODEL_CONFIG_POLL_SECONDS, which only records the new list;
- the version is aspired at the next directory poll, every `serving.fileSystemPollSeconds`
  (file_system_storage_path_source.cc at 1.15.0: UpdateConfig stores the config,
  PollFileSystemAndInvokeCallback emits it);
- then the load itself, with its retries (serving_spec.load_seconds).
Rolling, a new server reads its config at start (its first config and directory polls run at
once: server.cc PeriodicFunction and the one-shot/periodic poll thread), so only the load counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from components.jobs.pod import POD_START_SECONDS, account_manifests, job_pods_network_policy, script_pod_spec
from components.serving.spec import (
    MODEL_CONFIG_POLL_SECONDS,
    RUN_AS_UID,
    ServingInputs,
    content_hash,
    load_seconds,
    object_meta,
    pods_service_name,
    selector_labels,
)
from components.serving.versions.checks import canary_ingress_name
from components.serving.versions.served import SERVED_FILE, served_config_map_name

CHECKS = "components.serving.versions.checks"
# The label of the pods that may call the servers' REST port to check a version.
GATE_COMPONENT = "version-gate"
KUBELET_REFRESH_SECONDS = 90
RETIRE_CHECK_SECONDS = 60


@dataclass(frozen=True)
class Budget:
    """One check's time: what the script waits once it runs, what the Job may take in all (the
    pod's start and image pull first), what `pulumi up` waits for the Job."""

    seconds: int
    """What the check itself waits for, from its own start."""
    settle: int = 0
    """Seconds after which a version a server does not know (404), or unloaded, is an answer and
    no longer a change on its way (the propagation above)."""

    @property
    def job_deadline(self) -> int:
        """The Job's activeDeadlineSeconds: the pod's start, then the check."""
        return POD_START_SECONDS + self.seconds

    @property
    def await_timeout(self) -> str:
        """pulumi-kubernetes' await of the Job: its deadline in whole minutes, and one more."""
        return f"{self.job_deadline // 60 + 1}m"


def propagation_seconds(s: ServingInputs) -> int:
    """How long a version change takes to reach a running server's manager (0 when the pods roll)."""
    if not s.in_place:
        return 0
    return KUBELET_REFRESH_SECONDS + MODEL_CONFIG_POLL_SECONDS + s.poll_seconds


def serve_gate_budget(s: ServingInputs) -> Budget:
    """The serve gate waits for the change to reach every server, then for a load; it settles once
    the change had time to arrive (a directory poll after a config poll, at least)."""
    settle = propagation_seconds(s) or MODEL_CONFIG_POLL_SECONDS
    return Budget(propagation_seconds(s) + load_seconds(s.jit_compile), settle=settle)


def gate_labels(name: str) -> dict[str, str]:
    """The labels of the version gate's pods (and what the serving NetworkPolicy admits)."""
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": GATE_COMPONENT}


def job_name(serving_name: str, check: str, content: object) -> str:
    """`<name>-<check>-<hash>`, within the 63 characters a Job's pods carry it in a label."""
    return f"{serving_name[:63 - len(check) - 10]}-{check}-{content_hash(content)}"


def check_job_manifest(s: ServingInputs, check: str, command: str, args: Sequence[str], budget: Budget, *,
                       account: Optional[str]) -> dict:
    """A Job `<name>-<check>-<hash>` running `checks.main([command, *args])` once (no retries: a
    failed check is the answer)."""
    content = {"check": check, "args": list(args)}
    pod_spec = script_pod_spec(s.check_image, RUN_AS_UID, "check", CHECKS, [command, *args], account)
    labels = gate_labels(s.name)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(s.name, check, content), "namespace": s.namespace, "labels": labels,
            # A check that failed is run again by the next update, not awaited again as failed
            # (pulumi-kubernetes waits on an unready resource from a previous update unless this
            # annotation asks for a replacement: the batch/v1 Job docstring in pulumi_kubernetes).
            "annotations": {"pulumi.com/replaceUnready": "true"},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": budget.job_deadline,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def retire_check_budget() -> Budget:
    return Budget(RETIRE_CHECK_SECONDS)


def retire_check_manifest(s: ServingInputs, ingress_name: str, account: str, canary: Optional[int] = None) -> dict:
    """Before the model config and the Deployment change: the served version stays loaded, does not
    move while a canary answers its path, and does not move while the service sleeps."""
    return check_job_manifest(
        s, "retire-check", "retire",
        [s.namespace, ingress_name, s.model_name, ",".join(str(v) for v in s.versions), str(s.served_version),
         s.name, "-" if canary is None else str(canary)], retire_check_budget(), account=account)


def serve_gate_manifest(s: ServingInputs) -> dict:
    """Every loaded version AVAILABLE on every ready pod: a version that fails to load stops the
    update there, saying why, before the endpoint or the served-version file changes. The served
    version goes first in the list (it is what the switch waits for)."""
    budget = serve_gate_budget(s)
    ordered = [s.served_version, *sorted(v for v in s.versions if v != s.served_version)]
    return check_job_manifest(
        s, "serve-gate", "serve",
        [f"{pods_service_name(s.name)}.{s.namespace}.svc", str(s.rest_port), s.model_name,
         ",".join(str(v) for v in ordered), str(budget.seconds), str(budget.settle), s.namespace, s.name],
        budget, account=gate_account(s))


def gate_account(s: ServingInputs) -> str:
    """The checks' ServiceAccount."""
    return f"{s.name[:48]}-version-gate"


def reader_role_manifest(s: ServingInputs, account: str, ingress_name: str) -> tuple[dict, dict, dict]:
    """The checks' identity: it may read the Ingresses of the route (what is served now, and the
    canary's: `<ingress>-canary`, which the retire check reads while the service sleeps) and the
    serving Deployment's scale (asleep or not), nothing else."""
    return account_manifests(s.namespace, account, gate_labels(s.name), [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
         "resourceNames": [ingress_name, canary_ingress_name(ingress_name)], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [s.name], "verbs": ["get"]},
    ])


def gate_network_policy(s: ServingInputs) -> dict:
    return job_pods_network_policy(s.namespace, gate_account(s), gate_labels(s.name),
                                   (selector_labels(s.name), s.rest_port))


def served_config_map_manifest(s: ServingInputs) -> dict:
    """The served version, for the readiness probe (a file the kubelet refreshes in place)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(s, served_config_map_name(s.name)),
            "data": {SERVED_FILE: str(s.served_version)}}
