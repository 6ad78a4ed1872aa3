"""The stack's two Ingresses, routed by a stand-in of ingress-nginx transcribed from the controller
(loadtest/ingress_standin.py cites the lines): the weight per request, the main location's rewrite
applied to the canary's upstream, a canary on the main Service failing as the controller fails it,
a canary without ready pods skipped; and the load test's count of each track's answers from the
access log, in ACK's format.
"""

from __future__ import annotations

import copy
import json
import random
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
from conftest import MODEL_VERSION
from harness import NS, run_program
from test_canary import CANARY, MAIN, NEW, named, with_canary

from components.network.public_endpoint import ANNOTATION_REWRITE
from loadtest import __main__ as cli
from loadtest import tracks
from loadtest.ingress_standin import IngressNginxStandIn, routes, upstream_name
from loadtest.standins import BackgroundServer, KubernetesStandIn, TfServingStandIn, target_flags

MAIN_UPSTREAM, CANARY_UPSTREAM = f"inference-{MAIN}-8501", f"inference-{CANARY}-8501"


def allowing_the_tests(cfg: dict) -> dict:
    """dev with this machine's loopback on its allow-list: the tests' client, which the stand-in
    controller otherwise refuses with 403 as ingress-nginx would (tests/test_edge.py)."""
    cfg[NS + "ingress"]["allowSourceCidrs"] = ["127.0.0.0/8"]
    return cfg


@pytest.fixture
def ingresses(dev_config, project_dir):
    """The stack's main and canary Ingresses, in the order the stack creates them, at weight 25."""
    result = run_program(with_canary(allowing_the_tests(dev_config), project_dir, weight=25))
    return [named(result, "Ingress", MAIN), named(result, "Ingress", CANARY)]


def host_of(ingress: dict) -> str:
    return ingress["spec"]["rules"][0]["host"]


def send(url: str, host: str, count: int, request_id: str = "") -> list[int]:
    statuses = []
    for _ in range(count):
        headers = {"Content-Type": "application/json", "Host": host,
                   **({"X-Request-ID": request_id} if request_id else {})}
        request = urllib.request.Request(f"{url}/v1/models/chnsenticorp:predict", data=b'{"instances": [1]}',
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    return statuses


class Tracks:
    """Two serving stand-ins as the stack's tracks load them: the main one every listed version,
    the canary's its own files under the served version's number and under its own."""

    def __init__(self) -> None:
        self.main = TfServingStandIn(loaded=frozenset({MODEL_VERSION, NEW}), latency=0)
        self.canary = TfServingStandIn(loaded=frozenset({MODEL_VERSION, NEW}), latency=0)


@contextmanager
def routed(ingresses, tf: Tracks, seed: int = 7, canary_ready: bool = True, main_ready: bool = True):
    """The two tracks and the stand-in controller in front of them: yield (controller, its URL)."""
    with BackgroundServer(tf.main.app()) as main, BackgroundServer(tf.canary.app()) as canary:
        controller = IngressNginxStandIn(ingresses, {
            MAIN_UPSTREAM: lambda: main.url if main_ready else None,
            CANARY_UPSTREAM: lambda: canary.url if canary_ready else None}, rng=random.Random(seed))
        with BackgroundServer(controller.app()) as front:
            yield controller, front.url


def answers(ingresses, tf: Tracks, count: int, **routing) -> list[int]:
    """The status of each of `count` predict requests to the main Ingress's host."""
    with routed(ingresses, tf, **routing) as (_, url):
        return send(url, host_of(ingresses[0]), count)


def test_the_canary_is_merged_into_the_main_location_with_its_weight(ingresses):
    found = routes(ingresses)
    (location,) = [loc for loc in found.locations if loc.path.endswith(":predict")]
    assert location.upstream == MAIN_UPSTREAM
    assert location.rewrite == f"/v1/models/chnsenticorp/versions/{MODEL_VERSION}:predict"
    assert found.upstreams[MAIN_UPSTREAM].alternatives == [CANARY_UPSTREAM]
    assert found.upstreams[CANARY_UPSTREAM].weight == 25 and found.upstreams[CANARY_UPSTREAM].no_server
    assert found.warnings == []
    assert upstream_name("inference", ingresses[1]["spec"]["rules"][0]["http"]["paths"][0]["backend"]) \
        == CANARY_UPSTREAM


def test_a_share_of_the_requests_reaches_the_canary_on_the_served_path(ingresses):
    tf = Tracks()
    with routed(ingresses, tf) as (controller, url):
        statuses = send(url, host_of(ingresses[0]), 400)
    assert statuses == [200] * 400
    # Both tracks were asked for the served version's number: the main rewrite, on both upstreams.
    assert set(tf.main.answered) == set(tf.canary.answered) == {MODEL_VERSION}
    canary = tf.canary.answered[MODEL_VERSION]
    assert canary + tf.main.answered[MODEL_VERSION] == 400
    # 25 % of 400 is 100; the binomial's standard deviation is about 8.7 (a fixed seed: repeatable).
    assert 65 <= canary <= 135, canary
    # Every request logged, the canary's under its alternative upstream, all under the main one.
    records = [tracks.parse(line) for line in controller.log]
    assert len(records) == 400 and all(r is not None and r["proxy_upstream_name"] == MAIN_UPSTREAM for r in records)
    assert sum(1 for r in records if r and r["proxy_alternative_upstream_name"] == CANARY_UPSTREAM) == canary


@pytest.mark.parametrize("weight,main,canary", [(0, 60, 0), (100, 0, 60)])
def test_weight_zero_sends_none_and_weight_one_hundred_sends_all(dev_config, project_dir, weight, main, canary):
    result = run_program(with_canary(allowing_the_tests(dev_config), project_dir, weight=weight))
    ingresses = [named(result, "Ingress", MAIN), named(result, "Ingress", CANARY)]
    tf = Tracks()
    assert answers(ingresses, tf, 60) == [200] * 60
    assert (tf.main.answered[MODEL_VERSION], tf.canary.answered[MODEL_VERSION]) == (main, canary)


def test_a_canary_without_ready_pods_leaves_every_request_to_the_main_track(ingresses):
    tf = Tracks()
    assert answers(ingresses, tf, 40, canary_ready=False) == [200] * 40
    assert tf.main.answered[MODEL_VERSION] == 40 and not tf.canary.answered


def test_the_main_track_without_ready_pods_answers_503(ingresses):
    tf = Tracks()
    assert answers(ingresses, tf, 5, main_ready=False) == [503] * 5
    assert not tf.canary.answered


def test_during_a_promotion_the_canary_answers_the_new_path_until_its_ingress_goes(dev_config, project_dir,
                                                                                  ingresses):
    """Promotion moves the main rewrite to the canary's number; the canary Ingress is deleted at
    the end of the update, and until then its share still reaches the canary's pods."""
    promoted = copy.deepcopy(with_canary(dev_config, project_dir, serve=NEW))
    del promoted[NS + "model"]["canary"]
    main = named(run_program(promoted), "Ingress", MAIN)
    assert main["metadata"]["annotations"][ANNOTATION_REWRITE].endswith(f"/versions/{NEW}:predict")
    tf = Tracks()
    assert answers([main, ingresses[1]], tf, 200) == [200] * 200
    assert set(tf.main.answered) == set(tf.canary.answered) == {NEW}


def on_main_service(canary: dict) -> dict:
    canary = copy.deepcopy(canary)
    canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = MAIN
    return canary


def test_a_canary_on_the_main_service_is_not_split(ingresses):
    """Newer than the main Ingress: the controller warns and merges nothing (#3952, #8004)."""
    main, canary = ingresses
    found = routes([main, on_main_service(canary)])
    assert found.upstreams[MAIN_UPSTREAM].alternatives == []
    assert any("is primary upstream in Other Ingress" in w for w in found.warnings), found.warnings
    tf = Tracks()
    assert answers([main, on_main_service(canary)], tf, 40) == [200] * 40
    assert tf.main.answered[MODEL_VERSION] == 40


def test_a_canary_on_the_main_service_created_first_takes_the_path_away(ingresses):
    """Older than the main Ingress: it creates the upstream without a server, so no location for
    the path is built and the default backend answers."""
    main, canary = ingresses
    tf = Tracks()
    assert answers([on_main_service(canary), main], tf, 5) == [404] * 5
    assert not tf.main.answered and not tf.canary.answered


# --- the access log and the load test's count ----------------------------------------------------

@pytest.mark.parametrize("alternative", ["", CANARY_UPSTREAM])
def test_acks_own_regex_reads_the_stand_ins_log_lines(alternative):
    line = tracks.log_line(
        remote_addr="10.0.0.7", time=1_790_000_000, method="POST", url="/v1/models/chnsenticorp:predict",
        status=200, body_bytes_sent=31, request_time=0.012, request_length=240, host="bert.example.com",
        req_id="loadtest-1", proxy_upstream_name=MAIN_UPSTREAM, proxy_alternative_upstream_name=alternative,
        upstream_addr="10.1.0.3:8501", upstream_response_time="0.010", upstream_status="200", user_agent="curl/8")
    record = tracks.parse(line)
    assert record is not None, line
    assert (record["client_ip"], record["method"], record["url"], record["status"], record["request_time"],
            record["proxy_upstream_name"], record["upstream_status"], record["req_id"], record["host"],
            record["proxy_alternative_upstream_name"]) == (
        "10.0.0.7", "POST", "/v1/models/chnsenticorp:predict", "200", "0.012", MAIN_UPSTREAM, "200",
        "loadtest-1", "bert.example.com", alternative)


def test_the_load_test_reports_the_answers_of_each_track(ingresses, tmp_path):
    tf = Tracks()
    with routed(ingresses, tf, seed=11) as (controller, url):
        # Another client's requests in the same log: not the run's.
        send(url, host_of(ingresses[0]), 10, request_id="someone-else")
        before = tf.main.answered[MODEL_VERSION], tf.canary.answered[MODEL_VERSION]
        kube = KubernetesStandIn(ingress_log=lambda: controller.log)
        with BackgroundServer(kube.app()) as api:
            cli.main([*target_flags(url, api.url), "--host-header", host_of(ingresses[0]), "--tracks",
                      "--peak-rps", "40", "--warmup", "1", "--ramp", "1", "--hold", "3", "--cooldown", "1",
                      "--sample-period", "0.5", "--processes", "1", "--out", str(tmp_path), "--no-progress"])
    report = json.loads((tmp_path / "report.json").read_text())
    answered = report["meta"]["tracks"]
    assert answered["problem"] is None
    assert answered["found"] == answered["sent"] == tf.main.requests + tf.canary.requests - 10
    assert answered["canary"]["requests"] == tf.canary.answered[MODEL_VERSION] - before[1]
    assert answered["main"]["requests"] == tf.main.answered[MODEL_VERSION] - before[0]
    assert answered["main"]["statuses"] == {"200": answered["main"]["requests"]}
    assert 0.1 <= answered["canary"]["share"] <= 0.4, answered
    # Both servers answered from the first second: neither joined during the run.
    assert report["meta"]["new_pods"] == {"problem": None, "pods": []}


def test_the_stand_in_controllers_log_shows_a_pod_that_joined_and_its_slow_first_answers(ingresses):
    """The ingress log as the controller writes it, read back by the load test: a pod that joins
    and answers its first requests slowly (no warmup file) stands out against the one that was there."""
    loaded = frozenset({MODEL_VERSION})
    there = TfServingStandIn(loaded=loaded, latency=0.005)
    joining = TfServingStandIn(loaded=loaded, latency=0.005, first_latencies=(0.3, 0.2, 0.1))
    with BackgroundServer(there.app()) as a, BackgroundServer(joining.app()) as b:
        # Round robin over the ready pods, one turn per request (the controller asks twice a request).
        ready, log = [a.url], []
        controller = IngressNginxStandIn(ingresses[:1], {MAIN_UPSTREAM: lambda: ready[len(log) % len(ready)]}, log=log)
        with BackgroundServer(controller.app()) as front:
            send(front.url, host_of(ingresses[0]), 10, request_id="run-2")
            time.sleep(1.1)  # the log's times are whole seconds
            ready.append(b.url)
            send(front.url, host_of(ingresses[0]), 100, request_id="run-2")
    (pod,) = tracks.new_pods(controller.log, "run-2", joined_after=1)
    assert pod["upstream"] == b.url.removeprefix("http://") and pod["answers"] == 50
    first, steady = pod["first_ms"], pod["steady_p50_ms"]
    assert all(ms >= want for ms, want in zip(first, (300, 200, 100), strict=False)) and max(first[3:]) < 100
    assert steady is not None and steady < 100 and pod["first_over_steady"] > 3


def _answer(t: float, address: str, ms: float, run: str = "run-1", status: int = 200) -> str:
    return tracks.log_line(
        remote_addr="10.0.0.7", time=t, method="POST", url="/v1/models/m:predict", status=status,
        body_bytes_sent=31, request_time=ms / 1000, request_length=240, host="h", req_id=run,
        proxy_upstream_name=MAIN_UPSTREAM, proxy_alternative_upstream_name="", upstream_addr=address,
        upstream_response_time=f"{ms / 1000:.3f}", upstream_status=str(status), user_agent="loadtest")


def test_a_pod_that_joined_shows_its_first_answers_against_its_steady_ones():
    t0 = 1_800_000_000.0
    lines = [_answer(t0 + i, "10.1.0.1:8501", 10) for i in range(100)]          # there from the start
    cold = [800, 400, 200, 50, 12]
    lines += [_answer(t0 + 40 + i, "10.1.0.2:8501", ms) for i, ms in enumerate(cold)]  # joined at 40 s
    lines += [_answer(t0 + 45 + i, "10.1.0.2:8501", 11) for i in range(45)]
    lines.insert(50, _answer(t0 + 44, "10.1.0.2:8501", 5000, status=503))       # not an answer
    lines += [_answer(t0 + 60, "10.1.0.3:8501", 900, run="someone-else")]        # not the run's
    lines += [_answer(t0 + 90, "10.1.0.4:8501", 700)]                          # joined late, one answer
    pods = tracks.new_pods(lines, "run-1")
    assert pods[0] == {"upstream": "10.1.0.2:8501", "joined_after_s": 40, "answers": 50, "first_ms": cold,
                       "steady_p50_ms": 11.0, "first_over_steady": 72.7}
    assert [p["upstream"] for p in pods] == ["10.1.0.2:8501", "10.1.0.4:8501"]
    assert pods[1]["first_ms"] == [700.0] and pods[1]["steady_p50_ms"] is None
    assert "2 joined; the slowest first answers 800 ms against 11 ms steady (72.7x, 10.1.0.2:8501)" in \
        tracks.new_pods_text(pods, None)
    assert tracks.new_pods_text([], "no pod in kube-system matches app=x").startswith("new pods: not measured")


def test_logs_that_cannot_be_found_are_said_not_counted(tmp_path):
    kube = KubernetesStandIn(ingress_log=lambda: [], ingress_labels="app=other")
    with BackgroundServer(kube.app()) as api:
        from loadtest.watcher import api_client  # noqa: PLC0415

        lines, problem = tracks.read_logs(api_client(api.url, None), "kube-system", "app=ingress-nginx", 60)
    assert lines == [] and problem is not None and "no pod in kube-system matches app=ingress-nginx" in problem
    assert tracks.text(tracks.summary(tracks.tally([], "x"), 10, problem)).startswith("tracks: not counted (no pod")
