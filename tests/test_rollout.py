"""A version change as TF Serving, the kubelet and ECI carry it out: the version gate's own checks
(components/serving/versions/checks.py, unchanged) against a fleet of stand-in servers that behave as TF
Serving's source does (tests/fleet.py, loadtest/tfserving_process.py), in simulated time, with the
budget and the switch strategy the program computes."""

from __future__ import annotations

import subprocess
import sys

import pulumi_k8s
import pytest
from fleet import MODEL, Fleet
from inputs import serving_inputs

from components.jobs.pod import bootstrap
from components.serving.spec import LOAD_RETRIES, LOAD_RETRY_INTERVAL_SECONDS, load_seconds
from components.serving.versions import checks
from components.serving.versions.spec import CHECKS, serve_gate_budget
from config.derived import versions_in_place
from loadtest.standins import BackgroundServer, KubernetesStandIn
from loadtest.tfserving_process import ConfigMapHistory, Load, MountedFile, TfServingProcess

OLD, NEW = 1, 2
GOOD = {OLD: Load(20), NEW: Load(40)}
BROKEN = {OLD: Load(20), NEW: Load(10, "Could not find meta graph def matching supplied tags: { serve }", "NOT_FOUND")}


def gate(fleet: Fleet, poll: int, versions=(NEW, OLD)) -> tuple[object, float]:
    """Run the serve gate's check against the fleet with the program's own budget; (problem, seconds)."""
    budget = serve_gate_budget(serving_inputs(poll_seconds=poll, in_place=fleet.in_place, jit_compile=False))
    start = fleet.now
    problem = checks.serve_problem(fleet.addresses, fleet.get, MODEL, list(versions), budget.seconds,
                                   budget.settle, wait=fleet.wait, clock=fleet.clock)
    return problem, fleet.now - start


# --- in place, on nodes ----------------------------------------------------------------------------

@pytest.mark.parametrize("poll", [1, 60, 600, 3600])
def test_in_place_a_new_version_loads_at_the_next_directory_poll_within_the_gates_budget(poll):
    fleet = Fleet(GOOD, (OLD,), OLD, fs_poll=poll)
    fleet.change((OLD, NEW))
    problem, took = gate(fleet, poll)
    assert problem is None
    # It took the kubelet's refresh, a config poll and a directory poll: never less than the poll.
    assert took >= min(poll, 60) and took <= serve_gate_budget(serving_inputs(poll_seconds=poll)).seconds


def test_in_place_on_eci_the_file_never_changes_and_the_gate_says_so_once_settled():
    """The control: what the program does not do. On ECI the mounted config stays as it was, the
    servers never see the new version, and the gate fails as soon as the change had time to
    arrive, not after its whole budget."""
    fleet = Fleet(GOOD, (OLD,), OLD, eci=True, in_place=True)
    fleet.change((OLD, NEW))
    problem, took = gate(fleet, 60)
    budget = serve_gate_budget(serving_inputs(poll_seconds=60))
    assert problem is not None and "version 2: HTTP 404: Could not find version 2 of model m" in problem
    assert budget.settle <= took < budget.settle + 10 < budget.seconds
    assert versions_in_place("eci", 60) is False


def test_with_the_directory_listed_once_a_version_added_in_place_never_loads():
    """The other control: `fileSystemPollSeconds: 0` lists the directory once, at start."""
    fleet = Fleet(GOOD, (OLD,), OLD, fs_poll=0)
    fleet.change((OLD, NEW))
    fleet.wait(3600)
    assert all(p.process.status(NEW)[0] == 404 for p in fleet.pods)
    assert versions_in_place("nodepool", 0) is False


# --- rolling: ECI, or the directory listed once --------------------------------------------------------

@pytest.mark.parametrize("eci, poll", [(True, 60), (False, 0)])
def test_rolling_every_new_server_starts_with_the_new_config(eci, poll):
    fleet = Fleet(GOOD, (OLD,), OLD, eci=eci, in_place=versions_in_place("eci" if eci else "nodepool", poll),
                  fs_poll=poll)
    assert fleet.in_place is False
    assert fleet.change((OLD, NEW))  # the rollout completes: readiness on the served version
    problem, _ = gate(fleet, poll)
    assert problem is None
    # A switch rolls again; the new pods are ready on the new version.
    assert fleet.change((OLD, NEW), served=NEW)
    assert all(p.pinned == NEW and p.ready(fleet.now) for p in fleet.pods)


def test_rolling_a_served_version_that_cannot_load_stops_the_rollout_and_the_old_pods_serve():
    fleet = Fleet(BROKEN, (OLD,), OLD, eci=True, in_place=False)
    assert fleet.change((OLD, NEW), served=NEW) is False
    assert any(p.process.available(OLD) and p.pinned == OLD for p in fleet.pods)


# --- a failed load -----------------------------------------------------------------------------------

def test_a_failed_load_fails_the_gate_as_soon_as_every_server_answered_with_its_error():
    fleet = Fleet(BROKEN, (OLD,), OLD)
    fleet.change((OLD, NEW))
    problem, took = gate(fleet, 60)
    assert problem is not None
    assert "version 2: END (NOT_FOUND: Could not find meta graph def matching supplied tags: { serve })" in problem
    assert "raise model.reload" in problem and problem.endswith("the version it served before this update")
    # The config's way in, then the attempts: well before the budget.
    attempts = (LOAD_RETRIES + 1) * 10 + LOAD_RETRIES * LOAD_RETRY_INTERVAL_SECONDS
    assert took <= 90 + 30 + 60 + attempts + 10 < serve_gate_budget(serving_inputs()).seconds


def test_running_the_gate_again_finds_the_same_failure_at_once_tf_serving_does_not_retry():
    """What the old advice (re-upload, pulumi up again) ran into: the failed version stays END."""
    fleet = Fleet(BROKEN, (OLD,), OLD)
    fleet.change((OLD, NEW))
    gate(fleet, 60)
    fleet.disk = GOOD  # the files fixed in OSS; the running servers never look again
    for pod in fleet.pods:
        pod.process.disk = GOOD
    fleet.wait(3600)
    problem, took = gate(fleet, 60)
    assert problem is not None and "END (NOT_FOUND: Could not find" in problem and took == 0


def test_raising_model_reload_restarts_the_servers_and_the_fixed_version_loads():
    fleet = Fleet(BROKEN, (OLD,), OLD)
    fleet.change((OLD, NEW))
    assert gate(fleet, 60)[0] is not None
    fleet.disk = GOOD
    assert fleet.change((OLD, NEW), reload=True)  # the reload annotation rolls the pods
    assert gate(fleet, 60)[0] is None


def test_the_old_version_keeps_serving_while_its_replacement_fails():
    """TF Serving's availability-preserving policy: a version leaves only once an aspired one serves."""
    fleet = Fleet(BROKEN, (OLD,), OLD)
    fleet.change((NEW,))
    fleet.wait(600)
    assert all(p.process.available(OLD) for p in fleet.pods)


# --- the stand-in itself, against the lines it transcribes ------------------------------------------

def test_a_config_reload_only_records_the_list_the_directory_poll_applies_it():
    """The file lists the new version from t=100: the config poll at 120 records it, the
    directory poll at 600 aspires it."""
    process = TfServingProcess(MODEL, lambda t: (OLD,) if t < 100 else (OLD, NEW), GOOD, fs_poll=600)
    process.advance(130)
    assert process.listed == (OLD, NEW) and process.status(NEW)[0] == 404
    process.advance(599)
    assert process.status(NEW)[0] == 404
    process.advance(601)
    assert process.monitor[NEW][0] == "LOADING"


def test_a_failed_load_is_loading_through_its_retries_then_end_with_the_error():
    config = ConfigMapHistory()
    config.set(0, (NEW,))
    process = TfServingProcess(MODEL, MountedFile(config, 0, None).read, BROKEN)
    ends = (LOAD_RETRIES + 1) * 10 + LOAD_RETRIES * LOAD_RETRY_INTERVAL_SECONDS
    process.advance(ends - 1)
    assert process.status(NEW)[1]["model_version_status"][0]["state"] == "LOADING"
    process.advance(ends)
    status = process.status(NEW)[1]["model_version_status"][0]
    assert status["state"] == "END" and status["status"] == {
        "error_code": "NOT_FOUND", "error_message": "Could not find meta graph def matching supplied tags: { serve }"}


def test_the_budget_covers_the_way_in_and_a_load_with_its_retries():
    s = serving_inputs(poll_seconds=600)
    assert serve_gate_budget(s).seconds == 90 + 30 + 600 + load_seconds(False)
    assert serve_gate_budget(serving_inputs(in_place=False)).seconds == load_seconds(False)


# --- what the user reads when a check fails ------------------------------------------------------------

def run_check(api_url: str, tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """The check pod's real command against a stand-in API; (the run, its termination message)."""
    (tmp_path / "token").write_text("t", encoding="utf-8")
    log = tmp_path / "termination-log"
    done = subprocess.run([sys.executable, "-I", "-c", bootstrap(CHECKS), *args], capture_output=True, text=True,
                          timeout=30, check=False, cwd=tmp_path,
                          env={"JOB_SCRIPT_API": api_url, "JOB_SCRIPT_ACCOUNT": str(tmp_path),
                               "JOB_SCRIPT_TERMINATION_LOG": str(log)})
    return done, log.read_text(encoding="utf-8") if log.exists() else ""


def test_a_failed_check_says_why_in_pulumi_ups_output(tmp_path):
    """The check's reason becomes the container's termination message, which pulumi-kubernetes
    prints for the Job's failed pod (tests/pulumi_k8s.py transcribes its format)."""
    with BackgroundServer(KubernetesStandIn(served=lambda: 1, model="m").app()) as api:
        done, message = run_check(api.url, tmp_path, "retire", "inference", "bert-tfserving", "m", "2", "2",
                                  "bert-tfserving", "-")
    assert done.returncode == 1 and message and "\n" not in message
    pod = pulumi_k8s.pod_name("inference", "bert-tfserving-retire-check-1a2b3c4d-x7k9p")
    error = pulumi_k8s.container_terminated_error("check", "Error", 1, message)
    text = pulumi_k8s.failed_job_text(
        "urn:pulumi:dev::elastic-inference::kubernetes:batch/v1:Job::retire-check-job",
        "bert-tfserving-retire-check-1a2b3c4d",
        [pulumi_k8s.pod_error("PodFailed", "", error, pod),
         pulumi_k8s.job_failed_error("BackoffLimitExceeded", "Job has reached the specified backoff limit")])
    assert f"* [Pod {pod}]: [Error] model.versions drops version 1, which the endpoint serves now" in text


def test_a_switch_while_the_service_sleeps_is_refused_before_anything_changes(tmp_path):
    """No server could show the new version AVAILABLE; loading versions while asleep is fine."""
    with BackgroundServer(KubernetesStandIn(served=lambda: 1, model="m", replicas=0).app()) as api:
        switch, message = run_check(api.url, tmp_path, "retire", "inference", "bert-tfserving", "m", "1,2", "2",
                                    "bert-tfserving", "-")
        load, _ = run_check(api.url, tmp_path, "retire", "inference", "bert-tfserving", "m", "1,2", "1",
                            "bert-tfserving", "-")
    assert switch.returncode == 1 and message.startswith("the service sleeps")
    assert "kubectl create job --from=cronjob/bert-tfserving-wake" in message
    assert load.returncode == 0, load.stderr
