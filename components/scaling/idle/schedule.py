"""IdleSchedule: zero serving pods (and GPUs) outside working hours, back to minReplicas at wake.

Why a schedule and not scale-to-zero on traffic (docs/idle.md has the evidence): the
HPA cannot go below one replica without the HPAScaleToZero feature gate, and the QPS metric
vanishes when nobody calls (the metrics adapter returns no value for an empty SLS query:
pkg/metrics/sls/ingress.go at e891b487). What the HPA does allow is this: while its target has
zero replicas it stands aside ("scaling is disabled since the replica count of the target is
zero", reconcileAutoscaler in kubernetes pkg/controller/podautoscaler/horizontal.go), and once
the replicas are back it scales on QPS again. So two CronJobs set the Deployment's replicas
through its scale subresource: `sleep` to 0, `wake` to minReplicas. The HPA keeps scaling above
that all day. Pulumi never fights them: the Deployment carries no `replicas` (the HPA owns it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.jobs.pod import POD_START_SECONDS, account_manifests, bind, job_pods_network_policy, script_pod_spec
from components.serving.spec import RUN_AS_UID, ServingInputs
from components.wiring import k8s_object
from settings import IdleHours

SCALE = "components.scaling.idle.scale"

IDLE_COMPONENT = "idle-schedule"
SCALE_SECONDS = 300


def idle_labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": IDLE_COMPONENT}


def idle_account(s: ServingInputs) -> str:
    return f"{s.name[:52]}-idle"


def scaler_role_manifests(s: ServingInputs) -> tuple[dict, dict, dict]:
    """May read and set the serving Deployment's scale, nothing else."""
    return account_manifests(s.namespace, idle_account(s), idle_labels(s.name), [
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [s.name],
         "verbs": ["get", "patch"]}])


def cron_job_manifest(s: ServingInputs, action: str, schedule: str, time_zone: str, replicas: int) -> dict:
    """A CronJob that sets the replicas at `schedule` in `time_zone` (`.spec.timeZone`, stable since
    Kubernetes 1.27). A missed run (the controller down) runs late within the hour, never twice
    at once; each run retries twice before it is reported failed."""
    labels = idle_labels(s.name)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"{s.name[:45]}-{action}", "namespace": s.namespace, "labels": labels},
        "spec": {
            "schedule": schedule,
            "timeZone": time_zone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 2,
                    # Its pod's start and image pull, then a scale call that takes seconds.
                    "activeDeadlineSeconds": POD_START_SECONDS + SCALE_SECONDS,
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": script_pod_spec(s.check_image, RUN_AS_UID, action, SCALE,
                                                ["scale", s.namespace, s.name, str(replicas)], idle_account(s)),
                    },
                },
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class IdleScheduleArgs:
    serving: ServingInputs
    """The serving workload's plain values (namespace, Deployment name, script image)."""
    hours: IdleHours
    """When it sleeps to zero and wakes to `min_replicas`, in its time zone."""
    min_replicas: int
    """Replicas the wake sets (the HPA scales above them)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What it waits for (the workload). An Args field: see components/wiring.py."""


class IdleSchedule(pulumi.ComponentResource):
    """The sleep and wake CronJobs and the account that may scale the Deployment.
    Outputs: `wake`, `sleep` (the CronJobs' names)."""

    wake: pulumi.Output[str]
    sleep: pulumi.Output[str]

    def __init__(self, name: str, args: IdleScheduleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:scaling:IdleSchedule", name, None, opts)
        s = args.serving
        binding = bind(name, scaler_role_manifests(s), self, args.depends_on)
        # Their pods reach the API server and DNS, nothing else; nobody connects to them.
        policy = job_pods_network_policy(s.namespace, idle_account(s), idle_labels(s.name))
        network = k8s_object(k8s.networking.v1.NetworkPolicy, f"{name}-network-policy", policy, parent=self,
                             depends_on=args.depends_on)
        jobs = {}
        hours = args.hours
        for action, schedule, replicas in (("sleep", hours.sleep, 0), ("wake", hours.wake, args.min_replicas)):
            manifest = cron_job_manifest(s, action, schedule, hours.time_zone, replicas)
            jobs[action] = k8s_object(k8s.batch.v1.CronJob, f"{name}-{action}", manifest, parent=self,
                                      depends_on=[*args.depends_on, binding, network])
        self.wake = jobs["wake"].metadata.apply(lambda m: m.name or "")
        self.sleep = jobs["sleep"].metadata.apply(lambda m: m.name or "")
        self.register_outputs({"wake": self.wake, "sleep": self.sleep})
