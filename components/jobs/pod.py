"""A pod that runs one of the stack's scripts once, in a stock Python image, and the account it
runs as.

The scripts (components/versions/checks.py, components/idle/scale.py) and the API client they
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

COMPONENTS = Path(__file__).resolve().parent.parent
SHARED = ("components.jobs.kube_api",)
# A container that exits non-zero without a termination message reports the tail of its log
# instead (the kubelet's FallbackToLogsOnError), which pulumi-kubernetes prints for a failed Job.
TERMINATION_MESSAGE_POLICY = "FallbackToLogsOnError"


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
    k8s_sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=sa["metadata"],
                                         opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)))
    k8s_role = k8s.rbac.v1.Role(f"{name}-role", metadata=role["metadata"], rules=role["rules"],
                                opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)))
    return k8s.rbac.v1.RoleBinding(f"{name}-binding", metadata=binding["metadata"], role_ref=binding["roleRef"],
                                   subjects=binding["subjects"],
                                   opts=pulumi.ResourceOptions(parent=parent, depends_on=[k8s_sa, k8s_role]))
