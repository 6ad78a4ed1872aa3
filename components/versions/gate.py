"""RetireCheck and ServeGate: the components that order a version change.

The model config (the loaded versions) is edited in place and the servers reload it; the public
endpoint routes to the served version through the Ingress's rewrite target. Two Jobs, which
pulumi-kubernetes awaits (a Job is created when its `Complete` condition is True and fails at
once on `Failed`: the batch/v1 Job docstring in pulumi_kubernetes, and
https://www.pulumi.com/registry/packages/kubernetes/api-docs/batch/v1/job/), order the change:

1. `RetireCheck`, before the model config: the version the live Ingress serves must stay loaded.
2. the model config and the Deployment (unchanged by a version change: no restart);
3. `ServeGate`, before the endpoint: the served version is AVAILABLE on every ready pod; then the
   served-version ConfigMap the readiness probe reads, and the Ingress.
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
    reader_role_manifest,
    retire_check_manifest,
    serve_gate_budget,
    serve_gate_manifest,
    served_config_map_manifest,
)


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
        job = retire_check_manifest(s, args.ingress_name, account)
        check = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, k8s_binding]))
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
        wait = serve_gate_budget(s.jit_compile).await_timeout
        gate = k8s.batch.v1.Job(f"{name}-job", metadata=job["metadata"], spec=job["spec"],
                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on),
                                                            custom_timeouts=pulumi.CustomTimeouts(
                                                                create=wait, update=wait)))
        served = served_config_map_manifest(s)
        k8s.core.v1.ConfigMap(f"{name}-served", metadata=served["metadata"], data=served["data"],
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[gate]))
        self.job_name = gate.metadata.apply(lambda m: m.name or "")
        self.served_version = pulumi.Output.from_input(s.served_version)
        self.register_outputs({"jobName": self.job_name, "servedVersion": self.served_version})
