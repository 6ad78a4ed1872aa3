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

from ..jobs.pod import bind
from ..serving_spec import ServingInputs
from .spec import (
    gate_account,
    gate_network_policy,
    reader_role_manifest,
    retire_check_budget,
    retire_check_manifest,
    serve_gate_budget,
    serve_gate_manifest,
    served_config_map_manifest,
)


def awaited(budget_timeout: str) -> pulumi.CustomTimeouts:
    """How long `pulumi up` waits for a check Job (create, or the replacement an update makes)."""
    return pulumi.CustomTimeouts(create=budget_timeout, update=budget_timeout)


@dataclass(frozen=True, kw_only=True)
class RetireCheckArgs:
    serving: ServingInputs
    """The serving workload's plain values (versions, names, check image)."""
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
        # The checks' pods (both checks, every update) are under one NetworkPolicy.
        policy = gate_network_policy(s)
        network = k8s.networking.v1.NetworkPolicy(f"{name}-network-policy", metadata=policy["metadata"],
                                                  spec=policy["spec"],
                                                  opts=pulumi.ResourceOptions(parent=self, depends_on=after))
        job = retire_check_manifest(s, args.ingress_name, account)
        check = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, k8s_binding, network],
                                                             custom_timeouts=awaited(
                                                                 retire_check_budget().await_timeout)))
        self.job_name = check.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"jobName": self.job_name})


@dataclass(frozen=True, kw_only=True)
class ServeGateArgs:
    serving: ServingInputs
    """The serving workload's plain values (versions, names, check image)."""
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
        gate = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                                            custom_timeouts=awaited(serve_gate_budget(s).await_timeout)))
        if s.in_place:
            # The file the readiness probe reads: only once the version is AVAILABLE everywhere.
            served = served_config_map_manifest(s)
            k8s.core.v1.ConfigMap(f"{name}-served", metadata=served["metadata"], data=served["data"],
                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[gate]))
        self.job_name = gate.metadata.apply(lambda m: m.name or "")
        self.served_version = pulumi.Output.from_input(s.served_version)
        self.register_outputs({"jobName": self.job_name, "servedVersion": self.served_version})
