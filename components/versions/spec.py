"""Pure builders of the version gate: the check Jobs, their account, their time budget.

A Job's name carries a hash of what it checks, so an update that changes nothing runs nothing,
and a change runs a new Job (the old one is deleted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ..jobs.pod import account_manifests, script_pod_spec
from ..serving_spec import RUN_AS_UID, ServingInputs, content_hash, object_meta, pods_service_name, startup_seconds
from .served import SERVED_FILE, served_config_map_name

CHECKS = "components.versions.checks"
# The label of the pods that may call the servers' REST port to check a version.
GATE_COMPONENT = "version-gate"
# Kubelet refreshes a mounted ConfigMap within its sync period plus the cache TTL (about a minute
# each by default) and the server polls the file every MODEL_CONFIG_POLL_SECONDS: on top of a
# model load, the serve gate allows for both.
CONFIG_PROPAGATION_SECONDS = 180
RETIRE_CHECK_SECONDS = 120
# The Job may take this long beyond the check's own budget before Kubernetes stops it.
JOB_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Budget:
    """One check's time: what the script waits, what the Job may run, what `pulumi up` awaits."""

    seconds: int
    """What the check itself waits for."""

    @property
    def job_deadline(self) -> int:
        """The Job's activeDeadlineSeconds."""
        return self.seconds + JOB_MARGIN_SECONDS

    @property
    def await_timeout(self) -> str:
        """pulumi-kubernetes' await of the Job: its deadline in whole minutes, and one more."""
        return f"{self.job_deadline // 60 + 1}m"


def gate_labels(name: str) -> dict[str, str]:
    """The labels of the version gate's pods (and what the serving NetworkPolicy admits)."""
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": GATE_COMPONENT}


def job_name(serving_name: str, check: str, content: object) -> str:
    """`<name>-<check>-<hash>`, within the 63 characters a Job's pods carry it in a label."""
    return f"{serving_name[:63 - len(check) - 10]}-{check}-{content_hash(content)}"


def serve_gate_budget(jit_compile: bool) -> Budget:
    """How long the serve gate waits: the config reaching the pods, then a model load."""
    return Budget(CONFIG_PROPAGATION_SECONDS + startup_seconds(jit_compile))


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


def retire_check_manifest(s: ServingInputs, ingress_name: str, account: str) -> dict:
    return check_job_manifest(
        s, "retire-check", "retire", [s.namespace, ingress_name, s.model_name, ",".join(str(v) for v in s.versions)],
        Budget(RETIRE_CHECK_SECONDS - JOB_MARGIN_SECONDS), account=account)


def serve_gate_manifest(s: ServingInputs) -> dict:
    """Every loaded version AVAILABLE on every ready pod: a version that fails to load stops the
    update there, saying why, before the endpoint or the served-version file changes. The served
    version goes first in the list (it is what the switch waits for)."""
    budget = serve_gate_budget(s.jit_compile)
    ordered = [s.served_version, *sorted(v for v in s.versions if v != s.served_version)]
    return check_job_manifest(
        s, "serve-gate", "serve",
        [f"{pods_service_name(s.name)}.{s.namespace}.svc", str(s.rest_port), s.model_name,
         ",".join(str(v) for v in ordered), str(budget.seconds), s.namespace, s.name],
        budget, account=gate_account(s))


def gate_account(s: ServingInputs) -> str:
    """The checks' ServiceAccount."""
    return f"{s.name[:48]}-version-gate"


def reader_role_manifest(s: ServingInputs, account: str, ingress_name: str) -> tuple[dict, dict, dict]:
    """The checks' identity: it may read one Ingress (the retire check) and the serving
    Deployment's scale (the serve gate: asleep or not), nothing else."""
    return account_manifests(s.namespace, account, gate_labels(s.name), [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "resourceNames": [ingress_name],
         "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [s.name], "verbs": ["get"]},
    ])


def served_config_map_manifest(s: ServingInputs) -> dict:
    """The served version, for the readiness probe (a file the kubelet refreshes in place)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(s, served_config_map_name(s.name)),
            "data": {SERVED_FILE: str(s.served_version)}}
