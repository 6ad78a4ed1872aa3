"""The version gate: a served version changes only when it is safe, and says so when it is not.

The model config (the loaded versions) is edited in place and the servers reload it; the public
endpoint routes to the served version through the Ingress's rewrite target. Two Jobs, which
pulumi-kubernetes awaits (a Job is created when its `Complete` condition is True and fails at
once on `Failed`: the batch/v1 Job docstring in pulumi_kubernetes, and
https://www.pulumi.com/registry/packages/kubernetes/api-docs/batch/v1/job/), order the change:

1. `RetireCheck`, before the model config: the version the live Ingress serves must stay loaded.
2. the model config and the Deployment (unchanged by a version change: no restart);
3. `ServeGate`, before the endpoint: the served version is AVAILABLE on every ready pod; then the
   served-version ConfigMap the readiness probe reads, and the Ingress.

A Job's name carries a hash of what it checks, so an update that changes nothing runs nothing,
and a change runs a new Job (the old one is deleted). The checks are components/job_script.py,
run with a stock Python image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from .serving_spec import (
    REST_PORT,
    RUN_AS_UID,
    ServingInputs,
    content_hash,
    gate_labels,
    pods_service_name,
    served_config_map_manifest,
    startup_seconds,
)

CHECK_SCRIPT = Path(__file__).with_name("job_script.py")
# Kubelet refreshes a mounted ConfigMap within its sync period plus the cache TTL (about a minute
# each by default) and the server polls the file every MODEL_CONFIG_POLL_SECONDS: on top of a
# model load, the serve gate allows for both.
CONFIG_PROPAGATION_SECONDS = 180
RETIRE_CHECK_SECONDS = 120


def job_name(serving_name: str, check: str, content: object) -> str:
    """`<name>-<check>-<hash>`, within the 63 characters a Job's pods carry it in a label."""
    return f"{serving_name[:63 - len(check) - 10]}-{check}-{content_hash(content)}"


def serve_gate_seconds(jit_compile: bool) -> int:
    """How long the serve gate waits: the config reaching the pods, then a model load."""
    return CONFIG_PROPAGATION_SECONDS + startup_seconds(jit_compile)


def script_pod_spec(s: ServingInputs, container: str, command: str, args: Sequence[str],
                    account: Optional[str]) -> dict:
    """A pod that runs `job_script.py <command> <args>` once, as non-root, read-only, small; with
    the API token of `account` (None: no token). The version gate's Jobs and the idle schedule's
    CronJobs run it."""
    pod_spec: dict = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": account is not None,
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_UID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": container,
            "image": s.check_image,
            "command": ["python", "-c", CHECK_SCRIPT.read_text(encoding="utf-8"), command, *args],
            "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }],
    }
    if account is not None:
        pod_spec["serviceAccountName"] = account
    return pod_spec


def check_job_manifest(s: ServingInputs, check: str, command: str, args: Sequence[str], deadline: int, *,
                       account: Optional[str]) -> dict:
    """A Job `<name>-<check>-<hash>` running `job_script.py <command> <args>` once (no retries:
    a failed check is the answer)."""
    content = {"check": check, "args": list(args)}
    pod_spec = script_pod_spec(s, "check", command, args, account)
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
            "activeDeadlineSeconds": deadline,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def retire_check_manifest(s: ServingInputs, ingress_name: str, account: str) -> dict:
    return check_job_manifest(
        s, "retire-check", "retire", [s.namespace, ingress_name, s.model_name, ",".join(str(v) for v in s.versions)],
        RETIRE_CHECK_SECONDS, account=account)


def serve_gate_manifest(s: ServingInputs) -> dict:
    """Every loaded version AVAILABLE on every ready pod: a version that fails to load stops the
    update there, saying why, before the endpoint or the served-version file changes. The served
    version goes first in the list (it is what the switch waits for)."""
    budget = serve_gate_seconds(s.jit_compile)
    ordered = [s.served_version, *sorted(v for v in s.versions if v != s.served_version)]
    return check_job_manifest(
        s, "serve-gate", "serve",
        [f"{pods_service_name(s.name)}.{s.namespace}.svc", str(REST_PORT), s.model_name,
         ",".join(str(v) for v in ordered), str(budget), s.namespace, s.name],
        budget + 60, account=gate_account(s))


def gate_account(s: ServingInputs) -> str:
    """The checks' ServiceAccount."""
    return f"{s.name[:48]}-version-gate"


def account_manifests(s: ServingInputs, account: str, labels: dict, rules: list[dict]) -> tuple[dict, dict, dict]:
    """A ServiceAccount, a Role with exactly `rules`, and their binding, all named `account`."""
    meta = {"name": account, "namespace": s.namespace, "labels": labels}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": s.namespace}]}
    return sa, role, binding


def reader_role_manifest(s: ServingInputs, account: str, ingress_name: str) -> tuple[dict, dict, dict]:
    """The checks' identity: it may read one Ingress (the retire check) and the serving
    Deployment's scale (the serve gate: asleep or not), nothing else."""
    return account_manifests(s, account, gate_labels(s.name), [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "resourceNames": [ingress_name],
         "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [s.name], "verbs": ["get"]},
    ])


def bind(name: str, manifests: tuple[dict, dict, dict], parent: pulumi.Resource,
         depends_on: Sequence[pulumi.Resource]) -> pulumi.Resource:
    """Register an account's ServiceAccount, Role and RoleBinding; the binding is what to wait for."""
    sa, role, binding = manifests
    k8s_sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=sa["metadata"],
                                         opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)))
    k8s_role = k8s.rbac.v1.Role(f"{name}-role", metadata=role["metadata"], rules=role["rules"],
                                opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)))
    return k8s.rbac.v1.RoleBinding(f"{name}-binding", metadata=binding["metadata"], role_ref=binding["roleRef"],
                                   subjects=binding["subjects"],
                                   opts=pulumi.ResourceOptions(parent=parent, depends_on=[k8s_sa, k8s_role]))


@dataclass(frozen=True, kw_only=True)
class RetireCheckArgs:
    serving: ServingInputs
    ingress_name: str
    """The Ingress whose rewrite target says what is served now."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What it waits for (the namespace). An Args field: see components/wiring.py."""


class RetireCheck(pulumi.ComponentResource):
    """Refuses a model config that unloads the version the endpoint serves. The TfServing model
    config depends on it. Output: `job_name`."""

    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: RetireCheckArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:serving:RetireCheck", name, None, opts)
        s = args.serving
        account = gate_account(s)
        after = list(args.depends_on)
        k8s_binding = bind(name, reader_role_manifest(s, account, args.ingress_name), self, after)
        job = retire_check_manifest(s, args.ingress_name, account)
        check = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, k8s_binding]))
        self.job_name = check.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"jobName": self.job_name})


@dataclass(frozen=True, kw_only=True)
class ServeGateArgs:
    serving: ServingInputs
    depends_on: Sequence[pulumi.Resource] = ()
    """What it waits for: the serving workload (its Deployment, model config and the headless
    Service the check resolves). An Args field: see components/wiring.py."""


class ServeGate(pulumi.ComponentResource):
    """Waits for the served version on every ready pod, then writes the served-version file the
    readiness probe reads. The Ingress depends on it. Outputs: `job_name`, `served_version`."""

    job_name: pulumi.Output[str]
    served_version: pulumi.Output[int]

    def __init__(self, name: str, args: ServeGateArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:serving:ServeGate", name, None, opts)
        s = args.serving
        job = serve_gate_manifest(s)
        budget = f"{serve_gate_seconds(s.jit_compile) // 60 + 2}m"
        gate = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                                            custom_timeouts=pulumi.CustomTimeouts(
                                                                create=budget, update=budget)))
        served = served_config_map_manifest(s)
        k8s.core.v1.ConfigMap(f"{name}-served", metadata=served["metadata"], data=served["data"],
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[gate]))
        self.job_name = gate.metadata.apply(lambda m: m.name or "")
        self.served_version = pulumi.Output.from_input(s.served_version)
        self.register_outputs({"jobName": self.job_name, "servedVersion": self.served_version})
