"""RetireCheck and ServeGate: the components that order a version change.

The public endpoint routes to the served version through the Ingress's rewrite target. The
loaded versions reach the servers in place (node pool: the model config file edited, the servers
reload it) or by rolling the pods (ECI, or a model directory listed once). Two Jobs, which
pulumi-kubernetes awaits (a Job succeeds on `Complete` and fails at once on `Failed` with reason
BackoffLimitExceeded or DeadlineExceeded: provider/pkg/await/job.go and checker/job/check.go at
v4.32.0, the await code unchanged to the mirror's newest commit), order the change:

1. `RetireCheck`, before the model config and the Deployment: the version the live Ingress serves
   must stay loaded, and no switch while the service sleeps (no server could show it AVAILABLE).
2. the model config and the Deployment;
3. `ServeGate`, before the endpoint: every loaded version AVAILABLE on every ready pod; then (in
   place) the served-version ConfigMap the readiness probe reads, and the Ingress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.jobs.pod import bind
from components.serving.spec import ServingInputs
from components.serving.versions.spec import (
    gate_account,
    gate_network_policy,
    reader_role_manifest,
    retire_check_budget,
    retire_check_manifest,
    serve_gate_budget,
    serve_gate_manifest,
    served_config_map_manifest,
)
from components.wiring import k8s_object


def awaited(budget_timeout: str) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for a check Job (create, or the replacement an update makes)."""
    return pulumi.CustomTimeouts(create=budget_timeout, update=budget_timeout)


@dataclass(frozen=True, kw_only=True)
class RetireCheckArgs:
    serving: ServingInputs
    """The serving workload's plain values (versions, names, check image)."""
    ingress_name: str
    """The Ingress whose rewrite target says what is served now."""
    canary: Optional[int] = None
    """`model.canary.version`: while one is set the served version must not move."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What it waits for (the namespace). An Args field: see components/wiring.py."""


def gate_access(name: str, s: ServingInputs, ingress_name: str, parent: pulumi.Resource,
                after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
    """The checks' account (it may read the Ingress and the Deployment's scale) and the
    NetworkPolicy their pods run under (both checks, every update): what a check Job waits for."""
    binding = bind(name, reader_role_manifest(s, gate_account(s), ingress_name), parent, after)
    policy = gate_network_policy(s)
    network = k8s_object(k8s.networking.v1.NetworkPolicy, f"{name}-network-policy", policy, parent=parent,
                         depends_on=after)
    return [binding, network]


class RetireCheck(pulumi.ComponentResource):
    """Refuses a model config that unloads the version the endpoint serves. The TfServing model
    config depends on it. Output: `job_name`."""

    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: RetireCheckArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:serving:RetireCheck", name, None, opts)
        s = args.serving
        after = list(args.depends_on)
        access = gate_access(name, s, args.ingress_name, self, after)
        job = retire_check_manifest(s, args.ingress_name, gate_account(s), args.canary)
        check = k8s_object(k8s.batch.v1.Job, f"{name}-job", job, parent=self, depends_on=[*after, *access],
                           custom_timeouts=awaited(retire_check_budget().await_timeout))
        self.job_name = check.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"jobName": self.job_name})


@dataclass(frozen=True, kw_only=True)
class ServeGateArgs:
    serving: ServingInputs
    """The serving workload's plain values (versions, names, check image)."""
    own_access: Optional[str] = None
    """The main Ingress of a track without its own retire check (the canary): the gate
    then makes its checks' account and NetworkPolicy itself; None: the retire check made them."""
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
        access = [] if args.own_access is None else gate_access(name, s, args.own_access, self,
                                                                  list(args.depends_on))
        job = serve_gate_manifest(s)
        gate = k8s_object(k8s.batch.v1.Job, f"{name}-job", job, parent=self, depends_on=[*args.depends_on, *access],
                          custom_timeouts=awaited(serve_gate_budget(s).await_timeout))
        if s.in_place:
            # The file the readiness probe reads: only once the version is AVAILABLE everywhere.
            served = served_config_map_manifest(s)
            k8s_object(k8s.core.v1.ConfigMap, f"{name}-served", served, parent=self, depends_on=[gate])
        self.job_name = gate.metadata.apply(lambda m: m.name or "")
        self.served_version = pulumi.Output.from_input(s.served_version)
        self.register_outputs({"jobName": self.job_name, "servedVersion": self.served_version})
