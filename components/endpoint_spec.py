"""Pure builder for the Internet-facing Ingress."""

from __future__ import annotations

from typing import Optional


def ingress_manifest(
    *,
    namespace: str,
    name: str,
    host: str,
    class_name: str,
    service: str,
    port: int,
    tls_secret_name: Optional[str],
    labels: dict[str, str],
) -> dict:
    """networking.k8s.io/v1 Ingress: host, path / to the Service's REST port, TLS when set.

    The backend port is a number, not the port name: the nginx upstream (and so the SLS route
    label the HPA selects) is named <namespace>-<service>-<port as written here>.
    """
    spec: dict = {
        "ingressClassName": class_name,
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"number": port}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls_secret_name is not None:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret_name}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def endpoint_url(host: str, tls: bool) -> str:
    """Base URL of the REST API."""
    return f"{'https' if tls else 'http'}://{host}"
