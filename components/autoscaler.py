"""Autoscaler: the HPA that scales the serving Deployment on ingress QPS."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from .autoscaler_spec import ScalingBehavior, hpa_manifest, ingress_route


@dataclass(frozen=True)
class AutoscalerArgs:
    """What to scale, on which traffic, within which bounds."""

    namespace: str
    """Namespace of the HPA and its target."""
    name: str
    """HPA name."""
    deployment_name: pulumi.Input[str]
    """The Deployment to scale (from the real object)."""
    service_name: pulumi.Input[str]
    """The Service the Ingress routes to (from the real object): the route label comes from it."""
    service_port: int
    """The backend port as the Ingress names it."""
    sls_project: str
    sls_logstore: str
    min_replicas: int
    max_replicas: int
    target_qps: float
    behavior: ScalingBehavior
    provider: k8s.Provider
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the metrics adapter that serves the metric)."""


class Autoscaler(pulumi.ComponentResource):
    """An autoscaling/v2 HPA on the External metric `sls_ingress_qps`.

    Outputs: `hpa_name`, `route` (the `sls.ingress.route` label it measures).
    """

    hpa_name: pulumi.Output[str]
    route: pulumi.Output[str]

    def __init__(self, name: str, args: AutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:scaling:Autoscaler", name, None, opts)
        self.route = pulumi.Output.from_input(args.service_name).apply(
            lambda service: ingress_route(args.namespace, service, args.service_port)
        )
        manifest = pulumi.Output.all(args.deployment_name, self.route).apply(
            lambda values: hpa_manifest(
                namespace=args.namespace,
                name=args.name,
                deployment=values[0],
                route=values[1],
                sls_project=args.sls_project,
                sls_logstore=args.sls_logstore,
                min_replicas=args.min_replicas,
                max_replicas=args.max_replicas,
                target_qps=args.target_qps,
                behavior=args.behavior,
                labels=dict(args.labels),
            )
        )
        hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata={"name": args.name, "namespace": args.namespace, "labels": dict(args.labels)},
            spec=manifest.apply(lambda m: m["spec"]),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.depends_on)),
        )
        self.hpa_name = hpa.metadata.apply(lambda m: m.name)
        self.register_outputs({"hpaName": self.hpa_name, "route": self.route})
