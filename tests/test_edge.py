"""Requests the Ingress refuses and the fleet: a stand-in ingress-nginx refuses as the controller does
(allow-list 403 in the access phase, limit-rps 503 in preaccess, both logged under the route), the
metrics adapter's stand-in counts the route's lines, and the stack's own HPA decides. Counted, a
flood nobody is served drives the fleet to maxReplicas (the cost, exactly); with the cluster's
access-log map (autoscaling.refusedRequests: excluded), it adds no pod, while served demand still
scales. And the check that stops `pulumi up` before the HPA when the cluster has no such map."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest
from harness import NS, ROOT, run_program

from components.scaling.edge import check
from components.scaling.edge.log import ACK_LOG_FORMAT, HTTP_SNIPPET, VARIABLE, log_format
from config.hpa import Controller, HpaSpec
from loadtest import tracks
from loadtest.ingress_standin import IngressNginxStandIn, LimitReq, mapped_route
from loadtest.metrics_adapter import DELAY, INTERVAL, sls_ingress_qps
from loadtest.standins import BackgroundServer, TfServingStandIn
from tools.offline import settings_of

ROUTE = "inference-bert-tfserving-8501"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def ingress_of(config: dict, stack: str) -> dict:
    return run_program(config, stack).kind("Ingress", "bert-tfserving")


def flood(ingress: dict, rps: int, seconds: int, refused_route: bool, host: str) -> tuple[list[str], list[int]]:
    """`rps` predict requests a second for `seconds`, from 127.0.0.1, through the stand-in (its clock
    driven per request); return its log and the statuses."""
    clock, statuses = Clock(), []
    server = TfServingStandIn(latency=0, loaded=frozenset({1623831335}))
    with BackgroundServer(server.app()) as serving:
        controller = IngressNginxStandIn([ingress], {ROUTE: lambda: serving.url}, clock=clock,
                                         refused_route=refused_route)
        with BackgroundServer(controller.app()) as front:
            for i in range(rps * seconds):
                clock.now = T0 + i / rps
                request = urllib.request.Request(f"{front.url}/v1/models/chnsenticorp:predict",
                                                 data=b'{"instances": [[1]]}',
                                                 headers={"Host": host, "Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        statuses.append(response.status)
                except urllib.error.HTTPError as exc:
                    statuses.append(exc.code)
    return controller.log, statuses


def fleet_after(lines: list[str], config: dict, stack: str, seconds: int) -> int:
    """The HPA's replicas after reading the adapter's metric every 15 s for `seconds` (the stack's own
    HPA, from its settings; the pods it asks for taken as running)."""
    from planner.stack import hpa_of  # noqa: PLC0415

    spec: HpaSpec = hpa_of(settings_of(config, stack)[0])
    controller, replicas = Controller(spec), spec.min_replicas
    for t in range(INTERVAL + DELAY, seconds + INTERVAL + DELAY + 1, 15):
        usage = sls_ingress_qps(lines, ROUTE, T0 + t)
        replicas = controller.reconcile(T0 + t, replicas, replicas, usage * 1000)
    return replicas


@pytest.mark.parametrize("refused_route, pods", [(False, 4), (True, 1)], ids=["counted", "excluded"])
def test_a_flood_from_outside_the_allow_list_adds_no_pod_only_where_it_is_excluded(dev_config, refused_route, pods):
    """dev: allow-list 203.0.113.0/24, maxReplicas 4, targetQps 10. 40 requests a second from an
    address outside it: every one refused with 403. Counted, the HPA reads 40 at its first reading
    and runs dev's maxReplicas, 4 GPU pods, until the flood stops and its scale-down window (120 s)
    passes: that is the cost. Excluded, it reads 0 and stays at minReplicas."""
    ingress = ingress_of(dev_config, "dev")
    lines, statuses = flood(ingress, 40, 16, refused_route, "bert.dev.example.com")
    assert statuses == [403] * 640
    records = [tracks.parse(line) for line in lines]
    assert all(r is not None and r["upstream_addr"] == "-" and r["status"] == "403" for r in records)
    assert {r["proxy_upstream_name"] for r in records if r} == {"-" if refused_route else ROUTE}
    assert sls_ingress_qps(lines, ROUTE, T0 + INTERVAL + DELAY) == (0 if refused_route else 40)
    assert fleet_after(lines, dev_config, "dev", 0) == pods


def test_one_client_above_the_rate_limit_scales_only_for_what_is_served(prod_config):
    """prod: rateLimitRps 100 per client, a burst of 500. One client at 300 a second: the burst is
    spent after 2.5 s, then 100 a second are admitted and 200 refused with 503, logged under `-`
    (excluded). The metric counts exactly the admitted ones."""
    prod_config[NS + "ingress"].pop("tlsSecretName", None)
    ingress = ingress_of(prod_config, "prod")
    lines, statuses = flood(ingress, 300, 6, True, "bert.example.com")
    records = [r for r in map(tracks.parse, lines) if r]
    assert all(r["proxy_upstream_name"] == ("-" if r["status"] == "503" else ROUTE) for r in records)
    per_second = [statuses[i * 300:(i + 1) * 300].count(200) for i in range(6)]
    assert per_second[:2] == [300, 300] and all(95 <= n <= 105 for n in per_second[3:]), per_second
    assert sls_ingress_qps(lines, ROUTE, T0 + INTERVAL + DELAY) == statuses.count(200) // INTERVAL


def test_the_limiter_is_nginxs_leaky_bucket():
    """ngx_http_limit_req_lookup: 1000 a request, drained at the rate, above the burst refused and
    the state kept; `nodelay`: the burst passes at once."""
    limiter = LimitReq(rate=10, burst=50)
    admitted = [limiter.admit(0) for _ in range(60)]
    assert admitted == [True] * 51 + [False] * 9  # the first sets the node, then 50 of burst
    assert limiter.admit(100) and not limiter.admit(100)  # 100 ms drains one request at 10/s


@pytest.mark.parametrize("status, limit, upstream, route", [
    (403, "", "", "-"),                            # the allow-list's deny: no upstream tried
    (403, "PASSED", "", "-"),                      # denied after passing the rate limit
    (503, "REJECTED", "", "-"),                    # limit-rps
    (429, "REJECTED", "", "-"),                    # limit-rps with another limit-req-status-code
    (503, "PASSED", "", ROUTE),                    # no ready pod (no balancer): demand, counted
    (503, "", "10.0.0.5:8501", ROUTE),             # TF Serving's own 503 (a full batch queue)
    (200, "PASSED", "10.0.0.5:8501", ROUTE),
    (403, "", "10.0.0.5:8501", ROUTE),             # a 403 the upstream answered
])
def test_the_access_log_map_moves_only_refusals(status, limit, upstream, route):
    assert mapped_route(ROUTE, status, limit, upstream) == route


def test_the_documented_configmap_passes_the_check_and_acks_format_keeps_its_regex():
    data = {"http-snippet": HTTP_SNIPPET, "log-format-upstream": log_format()}
    assert check.problem_of(data, "cm") is None
    assert f"[{VARIABLE}]" in log_format() and "[$proxy_upstream_name]" in ACK_LOG_FORMAT
    # The field keeps its place: ACK's collection regex reads a mapped line as any other.
    line = tracks.log_line(remote_addr="1.2.3.4", time=T0, method="POST", url="/x", status=403, body_bytes_sent=0,
                           request_time=0.0, request_length=10, host="h", req_id="r", proxy_upstream_name="-",
                           proxy_alternative_upstream_name="", upstream_addr="", upstream_response_time="",
                           upstream_status="", user_agent="ua")
    assert tracks.parse(line)["proxy_upstream_name"] == "-"


@pytest.mark.parametrize("data, words", [
    (None, "not found"),
    ({"log-format-upstream": log_format()}, "http-snippet has no map"),
    ({"http-snippet": HTTP_SNIPPET, "log-format-upstream": ACK_LOG_FORMAT}, "log-format-upstream does not write"),
])
def test_the_check_says_what_the_cluster_lacks(data, words):
    assert words in check.problem_of(data, "ConfigMap kube-system/nginx-configuration")


def test_the_docs_show_the_configmap_the_check_reads():
    text = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    for line in HTTP_SNIPPET.splitlines():
        assert line in text, line
    assert f"[{VARIABLE}]" in text and check.VARIABLE == VARIABLE


def test_excluded_waits_for_the_check_before_the_hpa(dev_config):
    dev_config[NS + "autoscaling"]["refusedRequests"] = "excluded"
    result = run_program(dev_config)
    job = next(r for r in result.of_type("kubernetes:batch/v1:Job") if "edge-log-check" in r.name)
    hpa = result.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert job.urn in hpa.dependencies
    manifest = result.manifest(job)
    command = manifest["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-3:] == ["check", "kube-system", "nginx-configuration"]
    role = next(m for m in result.manifests() if m["kind"] == "Role" and "edge-log-check" in m["metadata"]["name"])
    assert role["metadata"]["namespace"] == "kube-system"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["nginx-configuration"],
                              "verbs": ["get"]}]


def test_counted_with_an_allow_list_is_warned_about_by_key(dev_config):
    dev_config[NS + "autoscaling"]["refusedRequests"] = "counted"
    _, warnings = settings_of(dev_config, "dev")
    assert any(re.match(r"autoscaling.refusedRequests counted: the requests ingress.allowSourceCidrs refuse", w)
               for w in warnings), warnings


@pytest.mark.parametrize("data, status, words", [
    ({"http-snippet": HTTP_SNIPPET, "log-format-upstream": log_format()}, 0, "ok"),
    ({"log-format-upstream": ACK_LOG_FORMAT}, 1, "http-snippet has no map"),
    (None, 1, "not found"),
])
def test_the_pods_command_reads_the_configmap_as_the_api_server_serves_it(tmp_path, data, status, words):
    """The Job's real command (`python -c <bootstrap> check ...`) against a stand-in API server: a
    ConfigMap as `GET /api/v1/namespaces/<ns>/configmaps/<name>` returns it, or 404 (the reason
    in the termination message, which pulumi-kubernetes prints for the failed Job)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from aiohttp import web  # noqa: PLC0415

    from components.jobs.pod import bootstrap  # noqa: PLC0415

    async def configmap(request: web.Request) -> web.Response:
        if data is None:
            return web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
        return web.json_response({"kind": "ConfigMap", "metadata": {"name": "nginx-configuration"}, "data": data})

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/kube-system/configmaps/nginx-configuration", configmap)
    (tmp_path / "token").write_text("t\n", encoding="utf-8")
    message = tmp_path / "termination-log"
    with BackgroundServer(app) as api:
        done = subprocess.run([sys.executable, "-I", "-c", bootstrap("components.scaling.edge.check"), "check",
                               "kube-system", "nginx-configuration"], capture_output=True, text=True, timeout=30,
                              check=False, env={"JOB_SCRIPT_API": api.url, "JOB_SCRIPT_ACCOUNT": str(tmp_path),
                                                 "JOB_SCRIPT_TERMINATION_LOG": str(message), "PATH": ""})
    assert done.returncode == status, done.stderr
    assert words in (done.stdout + done.stderr)
    if status:
        assert words in message.read_text(encoding="utf-8")


@pytest.mark.parametrize("path, status", [
    ("/v1/models/chnsenticorp:predict", 200),
    ("/V1/MODELS/CHNSENTICORP:PREDICT", 200),          # ~*: case-insensitive
    ("/v1/models/chnsenticorp:predictANYTHING", 200),  # ^path with no $: a prefix
    ("/v1/models/chnsenticorp", 404),                  # the metadata: not public
    ("/monitoring/prometheus/metrics", 404),
])
def test_the_predict_path_is_matched_as_the_regex_ingress_nginx_makes_it(dev_config, path, status):
    """The Ingress rewrites, so ingress-nginx makes every location of its host `~* "^<path>"`
    (template.go enforceRegexModifier, buildLocation at dbb11b92); whatever matches is rewritten to
    the served version's predict path, the only one the pods answer."""
    dev_config[NS + "ingress"]["allowSourceCidrs"] = ["127.0.0.0/8"]
    ingress = ingress_of(dev_config, "dev")
    server = TfServingStandIn(latency=0, loaded=frozenset({1623831335}))
    with BackgroundServer(server.app()) as serving:
        controller = IngressNginxStandIn([ingress], {ROUTE: lambda: serving.url})
        with BackgroundServer(controller.app()) as front:
            request = urllib.request.Request(f"{front.url}{path}", data=b'{"instances": [[1]]}',
                                             headers={"Host": "bert.dev.example.com",
                                                      "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    answered = response.status
            except urllib.error.HTTPError as exc:
                answered = exc.code
    assert answered == status
    assert server.answered == ({1623831335: 1} if status == 200 else {})
