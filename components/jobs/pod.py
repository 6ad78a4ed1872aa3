"""A pod that runs one of the stack's scripts once, in a stock Python image, and the account it
runs as.

The scripts (components/serving/versions/checks.py, components/scaling/idle/scale.py) and the API client they
share (kube_api.py) are standard-library Python files of this repository. A stock image has none
of them, so the pod's command carries their text: `python -c <bootstrap>` registers each file as
the module it is here and calls the script's `main(argv)`. The same files are imported and tested
as they are, and the bundle is tested standalone (tests/test_jobs.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.wiring import k8s_object

COMPONENTS = Path(__file__).resolve().parent.parent
SHARED = ("components.jobs.kube_api",)
# A container that exits non-zero without a termination message reports the tail of its log
# instead (the kubelet's FallbackToLogsOnError), which pulumi-kubernetes prints for a failed Job.
TERMINATION_MESSAGE_POLICY = "FallbackToLogsOnError"
# A script's own time starts when its container runs; before that, its pod may wait for a node and
# pull the image, from Docker Hub by default, which no one bounds. A Job (and pulumi up, for the
# checks) allows this much for it, so a slow pull never fails a check or a wake. (A Job's
# activeDeadlineSeconds counts from its start, the pull included: the Job API reference.)
POD_START_SECONDS = 30 * 60


def module_file(module: str) -> Path:
    """`components.jobs.kube_api` -> components/jobs/kube_api.py."""
    parts = module.split(".")
    assert parts[0] == "components", module
    return COMPONENTS.joinpath(*parts[1:]).with_suffix(".py")


def bootstrap(entry: str) -> str:
    """Python source that defines the shared modules and `entry` as the modules they are in this
    repository, then exits with `entry.main(sys.argv[1:])`."""
    modules = [*SHARED, entry]
    packages = sorted({".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 1)})
    lines = ["import sys, types",
             "def _define(name, source, package=False):",
             "    module = types.ModuleType(name)",
             "    if package: module.__path__ = []",
             "    sys.modules[name] = module",
             "    if source: exec(compile(source, name.replace('.', '/') + '.py', 'exec'), module.__dict__)",
             "    return module"]
    lines += [f"_define({p!r}, '', True)" for p in packages]
    lines += [f"_define({m!r}, {module_file(m).read_text(encoding='utf-8')!r})" for m in modules[:-1]]
    lines.append(f"raise SystemExit(_define({entry!r}, {module_file(entry).read_text(encoding='utf-8')!r})"
                 ".main(sys.argv[1:]))")
    return "\n".join(lines) + "\n"


def script_pod_spec(image: str, uid: int, container: str, entry: str, args: Sequence[str],
                    account: Optional[str]) -> dict:
    """A pod that runs `entry.main(args)` once, as non-root, read-only, small; with the API token
    of `account` (None: no token)."""
    pod_spec: dict = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": account is not None,
        "securityContext": {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": container,
            "image": image,
            "command": ["python", "-c", bootstrap(entry), *args],
            "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            # The script writes its reason to the termination message; if it dies before that,
            # the kubelet takes the log's tail instead (at most 80 lines, 2048 bytes:
            # kuberuntime_container.go), so a failed pod always says why.
            "terminationMessagePolicy": TERMINATION_MESSAGE_POLICY,
        }],
    }
    if account is not None:
        pod_spec["serviceAccountName"] = account
    return pod_spec


def account_manifests(namespace: str, account: str, labels: dict, rules: list[dict]) -> tuple[dict, dict, dict]:
    """A ServiceAccount, a Role with exactly `rules`, and their binding, all named `account`."""
    meta = {"name": account, "namespace": namespace, "labels": labels}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]}
    return sa, role, binding


def bind(name: str, manifests: tuple[dict, dict, dict], parent: pulumi.Resource,
         depends_on: Sequence[pulumi.Resource]) -> pulumi.Resource:
    """Register an account's ServiceAccount, Role and RoleBinding; the binding is what to wait for."""
    sa, role, binding = manifests
    k8s_sa = k8s_object(k8s.core.v1.ServiceAccount, f"{name}-sa", sa, parent=parent, depends_on=depends_on)
    k8s_role = k8s_object(k8s.rbac.v1.Role, f"{name}-role", role, parent=parent, depends_on=depends_on)
    return k8s_object(k8s.rbac.v1.RoleBinding, f"{name}-binding", binding, parent=parent,
                      depends_on=[k8s_sa, k8s_role])


# DNS, wherever the cluster answers it: CoreDNS pods, or a node-local cache on a link-local address
# (ACK's NodeLocal DNSCache), which no pod selector names.
DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
# The API server is no pod a selector can name: through the `kubernetes` Service (443) or its
# endpoint (6443 on ACK), whichever address the network plugin sees after translating it
# (https://kubernetes.io/docs/concepts/services-networking/network-policies/, "what you can't do").
API_SERVER_PORTS = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]


def job_pods_network_policy(namespace: str, name: str, labels: dict[str, str],
                            serving_pods: Optional[tuple[dict[str, str], int]] = None) -> dict:
    """A stack's Job pods: nobody connects to them; they reach the cluster's DNS, the API server and
    (the version checks) the serving pods' REST port, nothing else (checkov CKV2_K8S_6: every pod
    under a policy that selects it by matchLabels)."""
    egress: list[dict] = [{"ports": DNS_PORTS}, {"ports": API_SERVER_PORTS}]
    if serving_pods is not None:
        pods, port = serving_pods
        egress.append({"to": [{"podSelector": {"matchLabels": dict(pods)}}],
                       "ports": [{"protocol": "TCP", "port": port}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"podSelector": {"matchLabels": dict(labels)}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [], "egress": egress},
    }
