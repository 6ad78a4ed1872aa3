"""EdgeLogCheck: before the HPA is made, prove that the cluster's ingress-nginx logs the requests it
refuses under the route `-`, so they add no pod (`autoscaling.refusedRequests: excluded`).

Why a refused request scales the fleet at all: ingress-nginx sets `$proxy_upstream_name` in the
location's rewrite phase (rootfs/etc/nginx/template/nginx.tmpl L1188 at dbb11b92), before the
allow-list's `deny` answers 403 in the access phase (L1206-1213) and `limit_req` answers 503 in
preaccess (`limit_req zone=... burst=<rps x 5> nodelay`: template.go buildRateLimit L886-892;
`limit_req_status` 503 by default, config.go L905); every such request is logged under the route,
with no upstream address. The metrics adapter counts the route's log lines whatever their status
(`* and proxy_upstream_name: <route>`: alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go
L31-65 at 93cf5f14), and none of its metrics or parameters filters on status or upstream.

What moves them out: the access log writes another variable where ACK's format writes
`[$proxy_upstream_name]`, an nginx `map` that is `-` for a 403 with no upstream tried (the deny)
and for a request `limit_req` rejected, and the route otherwise. A map's value may be a variable,
and a map is evaluated when used (nginx.org ngx_http_map_module: "variables are evaluated only
when they are used"), here only when the log line is written, once `$status`, `$upstream_addr`
and `$limit_req_status` (nginx 1.17.6+: PASSED, DELAYED, REJECTED, ...) are final. `http-snippet`
is a ConfigMap key, printed into the http block whether or not snippet annotations are allowed
(config.go L93-95, nginx.tmpl L513-515). The field keeps its place, so ACK's collection regex
(loadtest/tracks.py) still parses every line; SLS matches `proxy_upstream_name: <route>` by token,
and `-` is no token of any route. A 503 because no pod is ready yet (no balancer) keeps its route:
demand at zero pods still wakes the fleet.

The change is the cluster's, made once (docs/deploying.md, "Refused requests"): it applies to every
Ingress of the controller, so no stack owns it; this check only reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.jobs.pod import POD_START_SECONDS, bind, job_pods_network_policy, script_pod_spec
from components.scaling.edge import check
from components.serving.spec import RUN_AS_UID, content_hash
from components.wiring import k8s_object
from settings import EdgeLog

SCRIPT = "components.scaling.edge.check"
VARIABLE = check.VARIABLE
# The map the cluster's `http-snippet` holds (the check looks for its key and its two refusals).
HTTP_SNIPPET = (
    f'map "$status:$limit_req_status:$upstream_addr" {VARIABLE} {{\n'
    "    volatile;\n"
    f'    {check.REFUSAL_KEYS[0]}    "-";\n'
    f'    {check.REFUSAL_KEYS[1]}  "-";\n'
    "    default            $proxy_upstream_name;\n"
    "}\n"
)
# ACK's default access-log format for its controller (ACK Ingress FAQ: roura356a/csk at 4092ff46,
# "Ingress FAQ.md" L104), whose bracketed route field ACK's collection regex reads.
ACK_LOG_FORMAT = ('$remote_addr - [$remote_addr] - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                  '"$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] '
                  '$upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id $host '
                  '[$proxy_alternative_upstream_name]')
CHECK_SECONDS = 60
COMPONENT = "edge-log-check"


def log_format(current: str = ACK_LOG_FORMAT) -> str:
    """The cluster's format with the map's variable where the route was."""
    return current.replace("[$proxy_upstream_name]", f"[{VARIABLE}]")


@dataclass(frozen=True, kw_only=True)
class EdgeLogCheckArgs:
    namespace: str
    """The stack's namespace: the check's Job and account."""
    name: str
    """The serving name the check is named after."""
    image: str
    """The in-cluster scripts' image (`serving.checkImage`)."""
    edge: EdgeLog
    """The ingress controller's namespace and ConfigMap."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What it waits for (the namespace). An Args field: see components/wiring.py."""


def labels(a: EdgeLogCheckArgs) -> dict[str, str]:
    return {"app.kubernetes.io/instance": a.name, "app.kubernetes.io/component": COMPONENT}


def account_name(a: EdgeLogCheckArgs) -> str:
    return f"{a.name[:63 - len(COMPONENT) - 1]}-{COMPONENT}"


def access_manifests(a: EdgeLogCheckArgs) -> tuple[dict, dict, dict]:
    """Its ServiceAccount in the stack's namespace, and a Role and RoleBinding in the controller's
    that let it read that one ConfigMap, nothing else."""
    account, meta = account_name(a), {"name": account_name(a), "labels": labels(a)}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**meta, "namespace": a.namespace}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {**meta, "namespace": a.edge.namespace},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [a.edge.config_map],
                       "verbs": ["get"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {**meta, "namespace": a.edge.namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": a.namespace}]}
    return sa, role, binding


def job_manifest(a: EdgeLogCheckArgs) -> dict:
    """A Job named after what it reads (a change of it runs a new one), run once: a failure is the
    answer, and the HPA waits for its success."""
    args = ["check", a.edge.namespace, a.edge.config_map]
    pod_spec = script_pod_spec(a.image, RUN_AS_UID, "check", SCRIPT, args, account_name(a))
    name = f"{a.name[:63 - len(COMPONENT) - 10]}-{COMPONENT}-{content_hash({'args': args, 'image': a.image})}"
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": a.namespace, "labels": labels(a),
                         "annotations": {"pulumi.com/replaceUnready": "true"}},
            "spec": {"backoffLimit": 0, "activeDeadlineSeconds": POD_START_SECONDS + CHECK_SECONDS,
                     "template": {"metadata": {"labels": labels(a)}, "spec": pod_spec}}}


def await_timeout() -> str:
    return f"{(POD_START_SECONDS + CHECK_SECONDS) // 60 + 1}m"


class EdgeLogCheck(pulumi.ComponentResource):
    """Fails `pulumi up` before the HPA exists when refused requests would still scale the fleet.
    Output: `job` (what the HPA waits for)."""

    job: pulumi.Resource

    def __init__(self, name: str, args: EdgeLogCheckArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:scaling:EdgeLogCheck", name, None, opts)
        after = list(args.depends_on)
        k8s_binding = bind(name, access_manifests(args), self, after)
        policy = job_pods_network_policy(args.namespace, account_name(args), labels(args))
        network = k8s_object(k8s.networking.v1.NetworkPolicy, f"{name}-network-policy", policy, parent=self,
                             depends_on=after)
        self.job = k8s_object(k8s.batch.v1.Job, f"{name}-job", job_manifest(args), parent=self,
                              depends_on=[*after, k8s_binding, network],
                              custom_timeouts=pulumi.CustomTimeouts(create=await_timeout(), update=await_timeout()))
        self.register_outputs({})
