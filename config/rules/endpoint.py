"""The endpoint and the network: the Ingress as ingress-nginx and the API server read it, and the
peers a NetworkPolicy admits."""

from __future__ import annotations

import ipaddress

from ..errors import Problem
from ..schema import AutoscalingSettings, IngressSettings, NetworkSettings
from .check import rule, warning

# The stack's Ingress speaks ingress-nginx: its allow-list, rate limit, rewrite and canary are
# `nginx.ingress.kubernetes.io/*` annotations (components/network/public_endpoint.py), which another
# controller reads its own way or not at all. The IngressClasses ACK's docs create for its other two
# controllers: `alb` (controller ingress.k8s.alibabacloud/alb; help.aliyun.com/zh/ack/
# ack-managed-and-ack-dedicated/user-guide/use-albconfigs-to-configure-alb-instances, "Use an
# IngressClass to associate an AlbConfig with an Ingress") and `mse` (controller
# mse.alibabacloud.com/ingress; the MSE Ingress page "Use MseIngressConfigs to manage cloud-native
# gateways"). Any other name is the user's own class, which only the cluster can tell.
OTHER_CONTROLLERS = {"alb": "ACK's ALB Ingress class (controller ingress.k8s.alibabacloud/alb)",
                     "mse": "MSE's cloud-native gateway class (controller mse.alibabacloud.com/ingress)"}
INGRESS_NGINX_CLASS = "nginx"


@rule
def host_is_a_name(ingress: IngressSettings) -> list[Problem]:
    """Kubernetes refuses an Ingress whose host is an IP address (it must be a DNS name)."""
    try:
        ipaddress.ip_address(ingress.host)
    except ValueError:
        return []
    return [("ingress.host", f"{ingress.host!r} is an IP address, and an Ingress host must be a DNS name "
                             "(the API server refuses it): give the endpoint a name, e.g. bert.example.com, "
                             "whose DNS record points at the ingress controller's address")]


@rule
def class_is_ingress_nginx(ingress: IngressSettings) -> list[Problem]:
    other = OTHER_CONTROLLERS.get(ingress.class_name)
    if other is None:
        return []
    return [("ingress.className", f"{ingress.class_name!r} is {other}: the HPA's metric (sls_ingress_qps) counts "
                                  "ingress-nginx's access log, which that controller does not write, so the service "
                                  "would never scale, and the stack's allow-list, rate limit, predict-path rewrite and "
                                  "canary are ingress-nginx annotations; use an IngressClass of ingress-nginx (ACK's "
                                  "is 'nginx')")]


@warning
def class_unknown(ingress: IngressSettings) -> list[str]:
    name = ingress.class_name
    if name == INGRESS_NGINX_CLASS or name in OTHER_CONTROLLERS:
        return []
    return [f"ingress.className {name!r}: the stack's Ingress speaks ingress-nginx (its allow-list, rate limit, "
            "rewrite and canary are nginx.ingress.kubernetes.io annotations); make sure IngressClass "
            f"{name!r} has spec.controller k8s.io/ingress-nginx (kubectl get ingressclass {name} -o yaml), or "
            "another controller publishes the whole REST port unguarded"]


@warning
def allow_list_of_everyone(ingress: IngressSettings) -> list[str]:
    everyone = [c for c in ingress.allow_source_cidrs or () if ipaddress.ip_network(c).prefixlen == 0]
    if not everyone:
        return []
    return [f"ingress.allowSourceCidrs lists {', '.join(everyone)}: every address of that family is allowed, the "
            "same as no allow-list for it; list your office or VPN ranges instead"]


@warning
def network_peers_unused(network: NetworkSettings) -> list[str]:
    peers = [k for k, name in (("ingressNamespace", "ingress_namespace"), ("ingressPodLabels", "ingress_pod_labels"),
                               ("grpcClientNamespaces", "grpc_client_namespaces"),
                               ("metricsNamespaces", "metrics_namespaces")) if name in network.model_fields_set]
    if network.policy or not peers:
        return []
    return [f"network.{', network.'.join(peers)} ha{'s' if len(peers) == 1 else 've'} no effect with "
            "network.policy false: without a NetworkPolicy every pod in the cluster may connect"]


@warning
def refused_requests_scale(ingress: IngressSettings, autoscaling: AutoscalingSettings) -> list[str]:
    """ingress-nginx names the route before it refuses (nginx.tmpl L1188, before the allow-list's
    `deny` L1206-1213 and `limit_req`, at dbb11b92), and the metrics adapter counts the route's
    log lines whatever their status (pkg/metrics/sls/ingress.go L63 at 93cf5f14)."""
    refusing = [k for k, v in (("ingress.allowSourceCidrs", ingress.allow_source_cidrs),
                               ("ingress.rateLimitRps", ingress.rate_limit_rps)) if v is not None]
    if not refusing or autoscaling.refused_requests != "counted":
        return []
    return [f"autoscaling.refusedRequests counted: the requests {' and '.join(refusing)} refuse are logged under "
            "the route and scale the fleet, up to maxReplicas GPU pods for a flood nobody is served; set it to "
            "excluded once the cluster logs them apart (docs/deploying.md, \"Refused requests\")"]
