"""Many drivers as one load test: the split and merge are exact, percentiles come from the raw
samples, local processes and an in-cluster Job (on a loopback stand-in that runs each Job index
as a process) end in one report and one verdict, and a driver that fails is reported."""

from __future__ import annotations

import json
import random

import kubernetes_validate
import pytest
from harness import ACK_VERSIONS

from loadtest import __main__ as cli
from loadtest import incluster, shares
from loadtest.driver import Outcome
from loadtest.profile import Phase, Profile
from loadtest.report import percentile, timeline
from loadtest.standins import BackgroundServer, JobsStandIn, KubernetesStandIn, TfServingStandIn, target_flags

PROFILE = Profile((Phase("warm-up", 2, 20, 20), Phase("ramp", 2, 20, 60), Phase("hold", 3, 60, 60),
                   Phase("cool-down", 2, 5, 5)))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_split_then_merge_is_the_single_schedule(n):
    schedule = PROFILE.schedule()
    parts = shares.split(schedule, n)
    assert len(parts) == n and sum(len(p) for p in parts) == len(schedule)
    assert shares.merge(parts) == schedule
    # Each share is an even open-loop schedule of its own: n-th of the rate, in time order.
    for part in parts:
        assert [t for t, _ in part] == sorted(t for t, _ in part)


def test_merged_percentiles_come_from_the_raw_samples_not_from_the_shares():
    fast = [Outcome(scheduled=i / 100, phase="hold", sent=i / 100, latency=0.010, status=200) for i in range(0, 100, 2)]
    slow = [Outcome(scheduled=i / 100, phase="hold", sent=i / 100, latency=0.500, status=200) for i in range(1, 100, 2)]
    slow[:40] = [Outcome(scheduled=o.scheduled, phase="hold", sent=o.sent, latency=0.011, status=200)
                 for o in slow[:40]]
    merged = shares.merge([fast, slow])
    profile = Profile((Phase("hold", 1, 100, 100),))
    row = timeline(merged, [], profile)[0]
    raw = [o.latency * 1000 for o in merged]
    assert row.p95_ms == percentile(raw, 95) == pytest.approx(500)
    averaged = (percentile([o.latency * 1000 for o in fast], 95) + percentile([o.latency * 1000 for o in slow], 95)) / 2
    assert row.p95_ms != pytest.approx(averaged)


def test_samples_travel_as_log_lines_and_a_lost_chunk_is_noticed(monkeypatch):
    monkeypatch.setattr(shares, "CHUNK", 10)
    rng = random.Random(5)
    schedule = [(i / 50, "hold") for i in range(45)]
    sent = [Outcome(scheduled=t, phase=p, sent=t + rng.random() / 100, latency=rng.random(),
                    status=rng.choice([200, 500]), error=None) for t, p in schedule]
    sent[3] = Outcome(scheduled=schedule[3][0], phase="hold", sent=None, error="dropped: client at max in flight")
    lines = list(shares.encode(2, sent))
    assert len(lines) == 6 and lines[-1].startswith(shares.DONE)
    got = shares.decode(["some other log line", *lines])[2]
    assert got.problem() is None
    back = shares.outcomes_of(schedule, got, "lost")
    for a, b in zip(back, sent, strict=True):
        assert (a.scheduled, a.status, a.error) == (b.scheduled, b.status, b.error)
        assert a.sent == (None if b.sent is None else pytest.approx(b.sent, abs=1e-6))
        assert a.latency == (None if b.latency is None else pytest.approx(b.latency, abs=1e-6))
    cut = shares.decode(lines[:2] + lines[3:])[2]
    assert cut.problem() == "lost 1 of 5 sample chunks (its log was cut)"
    lost = shares.outcomes_of(schedule, cut, "driver 2 lost")
    assert [o.error for o in lost[20:30]] == ["driver 2 lost"] * 10
    assert shares.decode(lines[:-1])[2].problem() == "never finished (no closing line in its log)"


def plan(parallel: int = 3) -> incluster.JobPlan:
    return incluster.JobPlan(name="loadtest-0a1b2c3d", namespace="inference", url="http://bert.example.com/v1/x",
                             profile=PROFILE, parallel=parallel, start_at=1_000_180.0)


@pytest.mark.parametrize("version", ACK_VERSIONS)
def test_the_job_and_its_config_map_validate_strictly(version):
    job = incluster.job_manifest(plan(), now=1_000_000.0)
    config_map = incluster.config_map_manifest(plan(), b'{"instances": []}')
    for manifest in (job, config_map):
        kubernetes_validate.validate(manifest, version, strict=True)
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 3, 3)
    assert spec["backoffLimitPerIndex"] == 0 and "backoffLimit" not in spec
    assert spec["activeDeadlineSeconds"] == 180 + 9 + 10 + 300
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LOADTEST_START_AT"] == "1000180.000" and env["LOADTEST_SHARES"] == "3"
    assert [Phase(**p) for p in json.loads(env["LOADTEST_PHASES"])] == list(PROFILE.phases)
    assert incluster.aiohttp_pin() in container["command"][2]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["template"]["spec"]["automountServiceAccountToken"] is False
    mounted = {i["path"] for i in spec["template"]["spec"]["volumes"][0]["configMap"]["items"]}
    assert mounted == {f"loadtest/{m}" for m in incluster.POD_MODULES} | {"payload.json"}
    assert set(config_map["data"]) == set(incluster.POD_MODULES) | {"payload.json"}


def test_the_driver_pods_use_the_stacks_own_python_image():
    from config.schema import DEFAULT_CHECK_IMAGE  # noqa: PLC0415 - the program's schema, for this check only

    assert incluster.DEFAULT_IMAGE == DEFAULT_CHECK_IMAGE


def test_the_pods_pin_the_same_aiohttp_as_the_project():
    requirements = (incluster.ROOT / "requirements-loadtest.txt").read_text(encoding="utf-8")
    assert incluster.aiohttp_pin() in requirements.splitlines()


def test_a_share_too_big_for_a_pod_log_is_refused_before_anything_starts(capsys):
    code = cli.main(["--predict-url", "http://127.0.0.1:9/x", "--namespace", "n", "--hpa", "h", "--deployment", "d",
                     "--target-qps", "1000", "--min-replicas", "10", "--hold", "600", "--in-cluster",
                     "--parallel", "2"])
    assert code == 2
    assert "use --parallel 20 or more" in capsys.readouterr().err  # 19,410,000 requests


def run(tmp_path, extra: list[str], jobs: JobsStandIn | None = None) -> tuple[int, dict, TfServingStandIn]:
    serving = TfServingStandIn(latency=0.005)
    kube = KubernetesStandIn(state=lambda: (1, 1, 2.0), jobs=jobs)
    with BackgroundServer(serving.app()) as tf, BackgroundServer(kube.app()) as api:
        code = cli.main([*target_flags(tf.url, api.url), "--peak-rps", "60", "--warmup", "1", "--ramp", "1",
                         "--hold", "1", "--cooldown", "1", "--sample-period", "0.5", "--out", str(tmp_path),
                         "--no-progress", *extra])
    return code, json.loads((tmp_path / "report.json").read_text()), serving


def test_several_local_processes_send_every_request_once(tmp_path):
    code, report, serving = run(tmp_path, ["--processes", "3"])
    rows = report["timeline"]
    scheduled = sum(r["scheduled"] for r in rows)
    assert report["meta"]["drivers"] == {"mode": "local", "count": 3}
    assert sum(r["sent"] for r in rows) == sum(r["ok"] for r in rows) == scheduled == serving.requests
    assert report["errors_by_cause"] == {}


def test_an_in_cluster_run_is_one_report(tmp_path):
    jobs = JobsStandIn(workdir=tmp_path / "cluster")
    code, report, serving = run(tmp_path / "out", ["--in-cluster", "--parallel", "3", "--start-margin", "2"], jobs)
    rows = report["timeline"]
    scheduled = sum(r["scheduled"] for r in rows)
    assert sum(r["ok"] for r in rows) == scheduled == serving.requests
    assert [r["problem"] for r in report["meta"]["drivers"]["reports"]] == [None, None, None]
    checks = {c["name"]: c for c in report["verdict"]["checks"]}
    assert checks["drivers-complete"]["passed"] is True
    # Cleaned up: the Job (with its pods) and the ConfigMap.
    job = report["meta"]["drivers"]["reports"][0]["pod"].rsplit("-", 2)[0]
    assert sorted(jobs.deleted) == [f"ConfigMap/{job}", f"Job/{job}"]
    assert not jobs.jobs and not jobs.config_maps


def test_a_failed_driver_pod_is_reported_and_its_share_counted_as_failed(tmp_path):
    jobs = JobsStandIn(workdir=tmp_path / "cluster", fail_index=1)
    code, report, serving = run(tmp_path / "out", ["--in-cluster", "--parallel", "3", "--start-margin", "2"], jobs)
    assert code == 1
    total = sum(r["scheduled"] for r in report["timeline"])
    share = len(shares.split(list(range(total)), 3)[1])
    (problem,) = [r["problem"] for r in report["meta"]["drivers"]["reports"] if r["problem"]]
    assert problem.startswith("pod ") and "exit code 3" in problem
    assert report["errors_by_cause"] == {"driver 1 lost": share} and serving.requests == total - share
    checks = {c["name"]: c for c in report["verdict"]["checks"]}
    assert checks["drivers-complete"]["passed"] is False and "driver 1" in checks["drivers-complete"]["detail"]
    assert checks["error-rate"]["passed"] is False
