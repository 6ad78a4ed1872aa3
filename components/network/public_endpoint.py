"""PublicEndpoint: the Ingress that publishes the REST API on the Internet.

Everything about the endpoint is in this file: the pure Ingress builder, the URL, the component.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.serving.versions.checks import CANARY_VERSION, canary_ingress_name
from components.wiring import k8s_object, name_of
from settings import Canary, Ingress


@dataclass(frozen=True, kw_only=True)
class CanaryRoute:
    """A share of the predict requests to the canary track's Service."""

    canary: Canary
    """Its weight, and its version, recorded on its Ingress (CANARY_VERSION, which the controller
    ignores: it reads only its own prefix) for the retire check, which refuses a canary changed
    while the service sleeps."""
    service_name: pulumi.Input[str]
    """The canary track's Service (its own: a canary on the main Service breaks both)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What a change of the canary Ingress waits for: the canary's serve gate."""


@dataclass(frozen=True, kw_only=True)
class PublicEndpointArgs:
    """Host and class of the Ingress, and the Service behind it."""

    namespace: str
    """Namespace of the Ingress and the Service."""
    name: str
    ingress: Ingress
    """Host, class, TLS, who may call and how fast."""
    service_name: pulumi.Input[str]
    """The Service to route to (from the real object)."""
    service_port: int
    """Its REST port."""
    model_name: str
    """The served model: only its predict path is published."""
    served_version: int
    """The model version the predict path is routed to."""
    labels: Mapping[str, str] = field(default_factory=dict)
    canary: Optional[CanaryRoute] = None
    """A canary Ingress beside the main one; None: every request to the served version."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What a change of the Ingress waits for: the serve gates (components/serving/versions/). An Args
    field: see components/wiring.py."""


# ingress-nginx annotations (kubernetes/ingress-nginx:docs/user-guide/nginx-configuration/
# annotations.md at dbb11b92): comma-separated CIDRs allowed, others denied; requests per second
# per client address per controller replica, bursts of 5x, 503 beyond.
ANNOTATION_ALLOW = "nginx.ingress.kubernetes.io/whitelist-source-range"
ANNOTATION_RPS = "nginx.ingress.kubernetes.io/limit-rps"
# The served version: the public predict path is rewritten to that version's path, which TF
# Serving's REST API has had since 1.x (`/v1/models/<m>/versions/<v>:predict`, the prediction
# regex in tensorflow_serving/model_servers/http_rest_api_handler.cc at 1.15.0; version labels in
# the path came only in 2.3.0). A fixed target, no capture groups: nginx's `rewrite` replaces the
# whole URI (https://kubernetes.github.io/ingress-nginx/examples/rewrite/).
ANNOTATION_REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"


# A canary Ingress (annotations.md "Canary" at dbb11b92): `canary: "true"` and the integer percent
# of requests in `canary-weight` (0 to the default total of 100). Its other annotations are ignored
# and the main Ingress's apply, the rewrite target included: the controller merges the canary's
# backend into the main location as an alternative upstream and builds no location of its own
# (internal/ingress/controller/controller.go createServers L1330-1333, mergeAlternativeBackends
# L1610-1714, where it must have the same host, path and pathType, and a Service other than the
# main one: canMergeBackend L1575-1580; kubernetes/ingress-nginx#3952, #8004).
ANNOTATION_CANARY = "nginx.ingress.kubernetes.io/canary"
ANNOTATION_CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"


def predict_path(model_name: str) -> str:
    """The one path the Internet reaches: the served model's REST predict API."""
    return f"/v1/models/{model_name}:predict"


def version_path(model_name: str, version: int) -> str:
    """The predict path of one version, where the public path is rewritten to."""
    return f"/v1/models/{model_name}/versions/{version}:predict"


def restriction_annotations(a: PublicEndpointArgs) -> dict[str, str]:
    """Who may reach the endpoint, and how fast, as the controller reads it."""
    annotations = {}
    i = a.ingress
    if i.allow_source_cidrs:
        annotations[ANNOTATION_ALLOW] = ",".join(i.allow_source_cidrs)
    if i.rate_limit_rps is not None:
        annotations[ANNOTATION_RPS] = str(i.rate_limit_rps)
    return annotations


def _predict_rule(a: PublicEndpointArgs, service_name: pulumi.Input[str]) -> dict:
    return {"host": a.ingress.host, "http": {"paths": [{
        "path": predict_path(a.model_name), "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": service_name, "port": {"number": a.service_port}}}}]}}


def canary_ingress_manifest(a: PublicEndpointArgs, route: CanaryRoute) -> dict:
    """The canary Ingress: the main rule's host, path and pathType to the canary's Service, and the
    weight; nothing else, since a canary's other annotations are ignored (the main Ingress's
    rewrite, source and rate restrictions apply to both tracks)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": canary_ingress_name(a.name), "namespace": a.namespace, "labels": dict(a.labels),
                         "annotations": {ANNOTATION_CANARY: "true",
                                         ANNOTATION_CANARY_WEIGHT: str(route.canary.weight),
                                         CANARY_VERSION: str(route.canary.version)}},
            "spec": {"ingressClassName": a.ingress.class_name, "rules": [_predict_rule(a, route.service_name)]}}


def ingress_manifest(a: PublicEndpointArgs) -> dict:
    """networking.k8s.io/v1 Ingress: host, the model's predict path to the Service's REST port,
    TLS when set, the source and rate restrictions as annotations.

    Only the predict path: the REST port also serves /monitoring/prometheus/metrics and every
    model's metadata, which stay in the cluster. `ImplementationSpecific`, because ingress-nginx
    rejects ':' in an Exact or Prefix path (strict-validate-path-type since controller 1.12:
    internal/ingress/inspector/rules.go validPathType). The rewrite-target makes every location of
    the host a case-insensitive prefix regex (docs/security.md, "Who reaches the service", with the
    sources).

    The backend port is a number, not the port name: the nginx upstream (and so the SLS route
    label the HPA selects) is named <namespace>-<service>-<port as written here>.
    `a.service_name` may be an Output: pulumi-kubernetes resolves it inside the dict.
    """
    spec: dict = {"ingressClassName": a.ingress.class_name, "rules": [_predict_rule(a, a.service_name)]}
    if a.ingress.tls_secret_name is not None:
        spec["tls"] = [{"hosts": [a.ingress.host], "secretName": a.ingress.tls_secret_name}]
    metadata: dict = {"name": a.name, "namespace": a.namespace, "labels": dict(a.labels),
                      "annotations": {ANNOTATION_REWRITE: version_path(a.model_name, a.served_version),
                                      **restriction_annotations(a)}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def endpoint_url(host: str, tls: bool) -> str:
    """Base URL of the REST API."""
    return f"{'https' if tls else 'http'}://{host}"


class PublicEndpoint(pulumi.ComponentResource):
    """Outputs: `url` (base URL), `ingress_name`. The Kubernetes provider comes through `opts`."""

    url: pulumi.Output[str]
    ingress_name: pulumi.Output[str]

    def __init__(self, name: str, args: PublicEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:network:PublicEndpoint", name, None, opts)
        manifest = ingress_manifest(args)
        ingress = k8s_object(k8s.networking.v1.Ingress, f"{name}-ingress", manifest, parent=self,
                             depends_on=args.depends_on)
        if args.canary is not None:
            canary = canary_ingress_manifest(args, args.canary)
            # After the main Ingress (the controller merges a canary only into an existing rule) and
            # the canary's gate; deleted first.
            k8s_object(k8s.networking.v1.Ingress, f"{name}-canary", canary, parent=self,
                       depends_on=[ingress, *args.canary.depends_on])
        self.ingress_name = name_of(ingress.metadata)
        self.url = pulumi.Output.from_input(endpoint_url(args.ingress.host, args.ingress.tls_secret_name is not None))
        self.register_outputs({"url": self.url, "ingressName": self.ingress_name})
