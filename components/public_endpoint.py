"""PublicEndpoint: the Ingress that publishes the REST API on the Internet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .endpoint_spec import endpoint_url, ingress_manifest


@dataclass(frozen=True)
class PublicEndpointArgs:
    """Host and class of the Ingress, and the Service behind it."""

    namespace: str
    name: str
    """Ingress name."""
    host: str
    class_name: str
    service_name: pulumi.Input[str]
    """The Service to route to (from the real object)."""
    service_port: int
    """Its REST port."""
    tls_secret_name: Optional[str]
    provider: k8s.Provider
    labels: Mapping[str, str] = field(default_factory=dict)


class PublicEndpoint(pulumi.ComponentResource):
    """Outputs: `url` (base URL), `ingress_name`."""

    url: pulumi.Output[str]
    ingress_name: pulumi.Output[str]

    def __init__(self, name: str, args: PublicEndpointArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:network:PublicEndpoint", name, None, opts)
        manifest = pulumi.Output.from_input(args.service_name).apply(
            lambda service: ingress_manifest(
                namespace=args.namespace,
                name=args.name,
                host=args.host,
                class_name=args.class_name,
                service=service,
                port=args.service_port,
                tls_secret_name=args.tls_secret_name,
                labels=dict(args.labels),
            )
        )
        ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={"name": args.name, "namespace": args.namespace, "labels": dict(args.labels)},
            spec=manifest.apply(lambda m: m["spec"]),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
        )
        self.ingress_name = ingress.metadata.apply(lambda m: m.name)
        self.url = pulumi.Output.from_input(endpoint_url(args.host, args.tls_secret_name is not None))
        self.register_outputs({"url": self.url, "ingressName": self.ingress_name})
