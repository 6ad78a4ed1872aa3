"""The Kubernetes API as a pod of the stack's Jobs reaches it: standard library only, with the pod's
own service account (its token, and the cluster's CA to trust the API server's certificate).

It runs inside a stock Python image (components/jobs/pod.py carries it there), so it imports
nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from typing import Optional

# In a pod: the API server and the service account's token and CA. The two variables are the
# tests' way to point the real script at a stand-in API (an http:// URL uses no TLS).
ACCOUNT = os.environ.get("JOB_SCRIPT_ACCOUNT", "/var/run/secrets/kubernetes.io/serviceaccount")
API = os.environ.get("JOB_SCRIPT_API", "https://kubernetes.default.svc")
# The container's termination message: the kubelet mounts this file writable even under a
# read-only root filesystem, keeps up to 4096 bytes of it in the container's terminated state
# (kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go), and pulumi-kubernetes prints that
# state's message for a failed Job's pod: `[Pod <ns>/<pod>]: [Error] <message>`
# (provider/pkg/await/checker/pod/check.go at v4.32.0).
TERMINATION_LOG = os.environ.get("JOB_SCRIPT_TERMINATION_LOG", "/dev/termination-log")
TERMINATION_LIMIT = 4096


def api(path: str, method: str = "GET", body: Optional[dict] = None,
        content_type: str = "application/json") -> Optional[dict]:
    """A call to the Kubernetes API with the pod's service account (None: 404 Not Found)."""
    with open(f"{ACCOUNT}/token", encoding="utf-8") as handle:
        token = handle.read().strip()
    context = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt") if API.startswith("https://") else None
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{API}{path}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def scale_path(namespace: str, deployment: str) -> str:
    """The Deployment's scale subresource."""
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale"


def read_ingress(namespace: str, name: str) -> Optional[dict]:
    """The live Ingress (None: not found)."""
    return api(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}")


def asleep(scale: Optional[dict]) -> bool:
    """A Deployment the idle schedule scaled to zero (its scale subresource says 0 replicas)."""
    return scale is not None and (scale.get("spec") or {}).get("replicas") == 0


def set_replicas(namespace: str, deployment: str, replicas: int) -> Optional[str]:
    """Scale the Deployment (a merge patch of its scale subresource); why not, or None."""
    done = api(scale_path(namespace, deployment), "PATCH", {"spec": {"replicas": replicas}},
               "application/merge-patch+json")
    return f"deployment {namespace}/{deployment} not found" if done is None else None


def report(problem: Optional[str]) -> int:
    """End a script: 0 and "ok", or 1 and the problem, on stderr and as the container's termination
    message (what `kubectl describe` and pulumi-kubernetes show for a failed Job), on one line."""
    if problem is None:
        print("ok")
        return 0
    print(problem, file=sys.stderr)
    try:
        with open(TERMINATION_LOG, "w", encoding="utf-8") as handle:
            handle.write(" ".join(problem.split())[:TERMINATION_LIMIT])
    except OSError:
        pass  # outside a pod, or no such mount: stderr carries it (FallbackToLogsOnError)
    return 1
