"""Pure builder for the HPA on the ingress QPS metric of the ACK metrics adapter."""

from __future__ import annotations

from dataclasses import dataclass

METRIC = "sls_ingress_qps"


@dataclass(frozen=True)
class ScalingBehavior:
    """How fast the HPA moves. GPU pods start slowly and cost a lot idle: up fast, down slowly."""

    scale_up_stabilization_seconds: int
    scale_up_pods_per_minute: int
    scale_down_stabilization_seconds: int
    scale_down_pods_per_minute: int


def ingress_route(namespace: str, service: str, port: int) -> str:
    """The nginx-ingress upstream name the SLS logs carry: <namespace>-<service>-<port>.

    `port` must be the backend port exactly as the Ingress names it (a number here); a wrong
    route silently measures nothing, or the whole cluster's traffic.
    """
    return f"{namespace}-{service}-{port}"


def quantity(value: float) -> str:
    """A Kubernetes quantity for a QPS target: whole numbers plain, fractions in milli-units."""
    if float(value).is_integer():
        return str(int(value))
    return f"{round(value * 1000)}m"


def hpa_manifest(
    *,
    namespace: str,
    name: str,
    deployment: str,
    route: str,
    sls_project: str,
    sls_logstore: str,
    min_replicas: int,
    max_replicas: int,
    target_qps: float,
    behavior: ScalingBehavior,
    labels: dict[str, str],
) -> dict:
    """autoscaling/v2 HPA: replicas = ceil(total QPS / target) between min and max."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "External",
                    "external": {
                        "metric": {
                            "name": METRIC,
                            "selector": {
                                "matchLabels": {
                                    "sls.project": sls_project,
                                    "sls.logstore": sls_logstore,
                                    "sls.ingress.route": route,
                                }
                            },
                        },
                        # Per pod: the HPA divides the route's total QPS by this.
                        "target": {"type": "AverageValue", "averageValue": quantity(target_qps)},
                    },
                }
            ],
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": behavior.scale_up_stabilization_seconds,
                    "selectPolicy": "Max",
                    "policies": [
                        {"type": "Pods", "value": behavior.scale_up_pods_per_minute, "periodSeconds": 60},
                        {"type": "Percent", "value": 100, "periodSeconds": 60},
                    ],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": behavior.scale_down_stabilization_seconds,
                    "selectPolicy": "Min",
                    "policies": [
                        {"type": "Pods", "value": behavior.scale_down_pods_per_minute, "periodSeconds": 60}
                    ],
                },
            },
        },
    }
