"""TfServing: model config, Deployment (placement applied), Services and PodDisruptionBudget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.capacity.placement import Placement
from components.serving.spec import (
    NetworkPeers,
    ServingInputs,
    config_map_manifest,
    deployment_manifest,
    network_policy_manifest,
    pdb_manifest,
    pods_service_manifest,
    service_account_manifest,
    service_manifest,
    workload_timeout,
)
from components.wiring import k8s_object, name_of


def cold_start_timeouts(spec: ServingInputs) -> pulumi.CustomTimeouts:
    """A GPU pod on cold capacity: node or ECI provisioning, a multi-GB image pull and the model
    load (and a kernel compile) take far longer than pulumi-kubernetes' 10-minute default await."""
    timeout = workload_timeout(spec.jit_compile)
    return pulumi.CustomTimeouts(create=timeout, update=timeout)


@dataclass(frozen=True, kw_only=True)
class TfServingArgs:
    """The serving workload and where it runs."""

    serving: ServingInputs
    """Plain values the manifests are built from (claim name included)."""
    placement: Placement
    """Node selector, tolerations, pod labels/annotations and dependencies from the capacity."""
    network: Optional[NetworkPeers]
    """Who may connect to the pods (a NetworkPolicy); None: no policy, anyone in the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the workload waits for (the model volume, which waits for the upload; the namespace).
    An Args field, not `opts.depends_on`: see components/wiring.py."""
    model_config_after: Sequence[pulumi.Resource] = ()
    """What the model config waits for: the retire check (components/serving/versions/gate.py)."""


class TfServing(pulumi.ComponentResource):
    """TensorFlow Serving behind a ClusterIP Service, reachable only by the peers it names.

    Outputs: `service_name` and `deployment_name` (resolved from the real objects), `rest_port`,
    `grpc_port`, `config_map_name`. The Kubernetes provider comes through `opts` (`providers=`).
    """

    service_name: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    config_map_name: pulumi.Output[str]
    rest_port: int
    grpc_port: int

    def __init__(self, name: str, args: TfServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:serving:TfServing", name, None, opts)
        spec, placement = args.serving, args.placement
        self.rest_port, self.grpc_port = spec.rest_port, spec.grpc_port
        after = list(args.depends_on)

        sa = service_account_manifest(spec)
        account = k8s_object(k8s.core.v1.ServiceAccount, f"{name}-sa", sa, parent=self, depends_on=after)
        cm = config_map_manifest(spec)
        config = k8s_object(k8s.core.v1.ConfigMap, f"{name}-config", cm, parent=self,
                            depends_on=[*after, *args.model_config_after])
        deployment = deployment_manifest(spec, placement, cm["metadata"]["name"])
        workload = k8s_object(
            k8s.apps.v1.Deployment, f"{name}-deployment", deployment, parent=self,
            # Pods after their capacity: destroy then removes pods before the nodes go.
            depends_on=[*after, *placement.depends_on, account, config],
            custom_timeouts=cold_start_timeouts(spec),
        )
        svc = service_manifest(spec)
        # The Service await waits for ready endpoints, i.e. for the same cold start.
        service = k8s_object(k8s.core.v1.Service, f"{name}-service", svc, parent=self, depends_on=after,
                             custom_timeouts=cold_start_timeouts(spec))
        # Headless: no endpoints to await beyond what the Deployment's await already covers.
        k8s_object(k8s.core.v1.Service, f"{name}-pods", pods_service_manifest(spec), parent=self, depends_on=after)
        k8s_object(k8s.policy.v1.PodDisruptionBudget, f"{name}-pdb", pdb_manifest(spec), parent=self,
                   depends_on=after)
        if args.network is not None:
            k8s_object(k8s.networking.v1.NetworkPolicy, f"{name}-network-policy",
                       network_policy_manifest(spec, args.network), parent=self, depends_on=after)
        self.service_name = name_of(service.metadata)
        self.deployment_name = name_of(workload.metadata)
        self.config_map_name = name_of(config.metadata)
        self.register_outputs(
            {
                "serviceName": self.service_name,
                "deploymentName": self.deployment_name,
                "configMapName": self.config_map_name,
                "restPort": self.rest_port,
                "grpcPort": self.grpc_port,
            }
        )
