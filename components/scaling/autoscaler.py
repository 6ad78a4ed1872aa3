"""Autoscaler: the HPA that scales the serving Deployment on ingress QPS.

Everything about the scaling is in this file: the pure builder of the HPA on the
`sls_ingress_qps` external metric of the ACK metrics adapter, and the component (its behaviour knobs
are settings.ScalingBehavior).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.wiring import k8s_object, name_of
from settings import HpaBounds, QpsMetric, ScalingBehavior

METRIC = "sls_ingress_qps"


@dataclass(frozen=True, kw_only=True)
class AutoscalerArgs:
    """What to scale, on which traffic, within which bounds."""

    namespace: str
    """Namespace of the HPA and its target."""
    name: str
    deployment_name: pulumi.Input[str]
    """The Deployment to scale (from the real object)."""
    metric: QpsMetric
    bounds: HpaBounds
    behavior: ScalingBehavior
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()
    """What the HPA waits for (the metrics adapter that serves its metric).
    An Args field, not `opts.depends_on`: see components/wiring.py."""


def quantity(value: float) -> str:
    """A Kubernetes quantity for a QPS target: whole numbers plain, fractions in milli-units."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def hpa_manifest(a: AutoscalerArgs) -> dict:
    """autoscaling/v2 HPA: replicas = ceil(total QPS / target) between min and max.

    `a.deployment_name` may be an Output: pulumi-kubernetes resolves it inside the dict, so the
    manifest is built once, without an apply.
    """
    b, bounds, metric = a.behavior, a.bounds, a.metric
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": a.name, "namespace": a.namespace, "labels": dict(a.labels)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": a.deployment_name},
            "minReplicas": bounds.min_replicas,
            "maxReplicas": bounds.max_replicas,
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {
                            "name": METRIC,
                            "selector": {
                                "matchLabels": {
                                    "sls.project": metric.sls_project,
                                    "sls.logstore": metric.sls_logstore,
                                    "sls.ingress.route": metric.route,
                                }
                            },
                        },
                        # Per pod: the HPA divides the route's total QPS by this.
                        "target": {"type": "AverageValue", "averageValue": quantity(bounds.target_qps)},
                    },
                }
            ],
            "behavior": b.manifest(),
        },
    }


class Autoscaler(pulumi.ComponentResource):
    """An autoscaling/v2 HPA on the External metric `sls_ingress_qps`.

    Outputs: `hpa_name`, `route` (the `sls.ingress.route` label it measures). The Kubernetes
    provider comes through `opts` (`providers=`).
    """

    hpa_name: pulumi.Output[str]
    route: pulumi.Output[str]

    def __init__(self, name: str, args: AutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:scaling:Autoscaler", name, None, opts)
        self.route = pulumi.Output.from_input(args.metric.route)
        manifest = hpa_manifest(args)
        hpa = k8s_object(k8s.autoscaling.v2.HorizontalPodAutoscaler, f"{name}-hpa", manifest, parent=self,
                         depends_on=args.depends_on)
        self.hpa_name = name_of(hpa.metadata)
        self.register_outputs({"hpaName": self.hpa_name, "route": self.route})
