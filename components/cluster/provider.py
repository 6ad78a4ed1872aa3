"""Cluster: a Kubernetes provider for the ACK cluster, and the serving namespace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from components.wiring import name_of

# Serves `sls_ingress_qps` (and the other SLS/CMS metrics) to the HPA through the external
# metrics API.
METRICS_ADAPTER_ADDON = "ack-alibaba-cloud-metrics-adapter"


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    """Which cluster, and the namespace every object of the stack goes into."""

    cluster_id: str
    namespace: str
    """Namespace created for the serving objects."""
    labels: Mapping[str, str] = field(default_factory=dict)


class Cluster(pulumi.ComponentResource):
    """Kubernetes access built from the cluster's own credentials, never the ambient kubeconfig.

    Outputs: `provider` (pass to every Kubernetes object), `namespace` (name, resolved once the
    Namespace exists, so objects that use it wait for it).
    """

    provider: k8s.Provider
    namespace: pulumi.Output[str]
    metrics_adapter: pulumi.Resource
    """The addon that serves `sls_ingress_qps` to the HPA (installed if missing, never removed)."""

    def __init__(self, name: str, args: ClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:cluster:Cluster", name, None, opts)
        # The non-temporary credential: `pulumi destroy` runs with the provider's stored
        # kubeconfig, and a short-lived one would have expired by then.
        credential = alicloud.cs.get_cluster_credential_output(
            cluster_id=args.cluster_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=pulumi.Output.secret(credential.kube_config),
            # The model config and the served version are ConfigMaps the servers and the probes
            # re-read in place: edit them rather than delete and recreate them under the same name
            # (the default treats a ConfigMap's data as immutable). pulumi/pulumi-kubernetes
            # provider/pkg/provider/provider.go: Configure reads enableConfigMapMutable; DiffConfig
            # replaces the provider only when the kubeconfig's active cluster changes.
            enable_config_map_mutable=True,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["kubeconfig"]),
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace, "labels": dict(args.labels)},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        self.metrics_adapter = alicloud.cs.KubernetesAddon(
            f"{name}-metrics-adapter",
            cluster_id=args.cluster_id,
            name=METRICS_ADAPTER_ADDON,
            # Cluster-wide and possibly shared with other HPAs: destroy leaves it installed.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.namespace = name_of(namespace.metadata)
        self.register_outputs({"namespace": self.namespace})
