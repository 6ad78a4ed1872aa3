"""python -m loadtest: drive load at a deployed stack, watch it scale, report and judge.

    python -m loadtest --stack dev                      # reads the stack's outputs and config
    python -m loadtest --predict-url URL --namespace NS --hpa NAME --deployment NAME \\
        --target-qps 10 --min-replicas 1                # or say everything explicitly

Exit status: 0 the verdict passed, 1 it failed, 2 the run could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import functools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

from kubernetes import client
from kubernetes.client import ApiException

from settings import LOAD_TEST_PAYLOAD

from . import incluster, processes, tracks
from .driver import drive
from .profile import standard_profile
from .report import cause, percentile, timeline, verdict, write_chart, write_json
from .watcher import ClusterReader, KubeconfigError, api_client, cluster_text, reachable, watch

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAYLOAD = LOAD_TEST_PAYLOAD


class UsageError(Exception):
    """The run cannot start; the message says why."""


def stack_outputs(stack: str) -> dict:
    """`pulumi stack output --json` of a deployed stack."""
    try:
        run = subprocess.run(["pulumi", "stack", "output", "--json", "-s", stack], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("the Pulumi CLI is not installed: pass --predict-url, --namespace, --hpa and "
                         "--deployment instead of --stack") from None
    if run.returncode != 0:
        raise UsageError(f"pulumi stack output -s {stack} failed: {run.stderr.strip()}")
    return json.loads(run.stdout)


def stack_autoscaling(stack: str):
    """The stack's autoscaling settings (defaults applied by the project's own schema)."""
    # Imported here, not at the top: the schema needs the program's requirements (pydantic),
    # which requirements-loadtest.txt does not install and a run with explicit flags never uses.
    from config.schema import AutoscalingSettings  # noqa: PLC0415
    from config.yaml_files import read_yaml  # noqa: PLC0415

    data = read_yaml(ROOT / f"Pulumi.{stack}.yaml") or {}
    raw = (data.get("config") or {}).get("elastic-inference:autoscaling") or {}
    return AutoscalingSettings.model_validate(raw)


def stack_driver_image(stack: str) -> str:
    """The image the stack runs its in-cluster scripts with (`serving.checkImage`, through
    `registry.mirror`): the driver pods pull what the cluster already pulls."""
    from config.image_ref import canonical, mirrored  # noqa: PLC0415 - see stack_autoscaling
    from config.schema import RegistrySettings, ServingSettings  # noqa: PLC0415
    from config.yaml_files import read_yaml  # noqa: PLC0415

    config = (read_yaml(ROOT / f"Pulumi.{stack}.yaml") or {}).get("config") or {}
    serving = ServingSettings.model_validate(config.get("elastic-inference:serving") or {})
    registry = RegistrySettings.model_validate(config.get("elastic-inference:registry") or {})
    return canonical(mirrored(serving.check_image, registry.mirror))


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=(__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    where = parser.add_argument_group("target (from --stack, or explicit)")
    where.add_argument("--stack",
                       help="read predictUrl, namespace, hpaName, deploymentName and autoscaling from this stack")
    where.add_argument("--predict-url")
    where.add_argument("--namespace")
    where.add_argument("--hpa")
    where.add_argument("--deployment")
    where.add_argument("--target-qps", type=float)
    where.add_argument("--min-replicas", type=int)
    where.add_argument("--host-header", help="Host header, when --predict-url names the load balancer's address")
    where.add_argument("--ingress", help="the Ingress whose rewrite target says which model version is served "
                                         "(None: the Deployment's name, as the stack names it)")
    tracks = parser.add_argument_group("the ingress access log (the run's requests carry one X-Request-ID): "
                                       "how new pods answered first, and with a canary each track's answers")
    tracks.add_argument("--tracks", action="store_true",
                        help="count each track's answers (on by itself when the stack has a canary)")
    tracks.add_argument("--ingress-namespace", default="kube-system", help="the ingress controller's namespace")
    tracks.add_argument("--ingress-selector", default="app=ingress-nginx",
                        help="the label selector of the ingress controller's pods "
                             "(not verified offline for ACK: docs/loadtest.md)")
    kube = parser.add_argument_group("Kubernetes API")
    kube.add_argument("--kube-context", help="kubeconfig context (default: current)")
    kube.add_argument("--kube-api-url", help="API server URL without auth (a local proxy or stand-in)")
    shape = parser.add_argument_group("load shape (seconds, requests/s)")
    shape.add_argument("--peak-rps", type=float, help="peak rate (None: 3 x targetQps x minReplicas)")
    shape.add_argument("--warmup", type=float, default=60, help="seconds at half the scale-out threshold")
    shape.add_argument("--ramp", type=float, default=60, help="seconds rising to the peak")
    shape.add_argument("--hold", type=float, default=300, help="seconds at the peak")
    shape.add_argument("--cooldown", type=float, default=600,
                       help="seconds of a trickle after the peak, in which the pods should scale back in")
    shape.add_argument("--payload", type=Path, default=DEFAULT_PAYLOAD, help="JSON body of each predict request")
    shape.add_argument("--timeout", type=float, default=10, help="seconds per request")
    shape.add_argument("--max-in-flight", type=int, default=2000,
                       help="requests in flight at once; a request due beyond it is counted as dropped")
    judge = parser.add_argument_group("verdict")
    judge.add_argument("--scale-out-within", type=float, default=180,
                       help="seconds allowed between QPS crossing the threshold and replicas rising")
    judge.add_argument("--max-error-rate", type=float, default=0.01, help="failed requests allowed, as a fraction")
    judge.add_argument("--sample-period", type=float, default=5, help="seconds between reads of the HPA and pods")
    judge.add_argument("--from-zero", action="store_true",
                       help="start from zero pods: scale the Deployment to 0 first, then wake it to minReplicas "
                            "at the start (as the idle schedule does) and measure the first caller's wait")
    judge.add_argument("--wake-within", type=float, default=900,
                       help="with --from-zero: seconds allowed from the wake to the first answer")
    drivers = parser.add_argument_group("drivers (one schedule, split round robin, merged into one report)")
    drivers.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                         help="local driver processes (one Python process tops out near 2,000 requests/s)")
    drivers.add_argument("--in-cluster", action="store_true",
                         help="run the drivers as an Indexed Job in the target cluster instead of here")
    drivers.add_argument("--parallel", type=int, default=4, help="with --in-cluster: driver pods")
    drivers.add_argument("--job-namespace", help="with --in-cluster: the Job's namespace (None: the stack's)")
    drivers.add_argument("--image", help="with --in-cluster: the drivers' image (default: with --stack, its "
                                         "serving.checkImage through its registry.mirror; else "
                                         f"{incluster.DEFAULT_IMAGE})")
    drivers.add_argument("--pip-index-url", help="with --in-cluster: a PyPI mirror for the drivers' aiohttp")
    drivers.add_argument("--start-margin", type=float, default=180,
                         help="with --in-cluster: seconds from creating the Job to the agreed start "
                              "(image pull and pip install must fit)")
    parser.add_argument("--out", type=Path, help="report directory (None: build/loadtest/<name>-<time>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line per second")
    return parser


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def resolve(args: argparse.Namespace) -> dict:
    """Everything the run needs, from the stack and/or the flags (flags win)."""
    values = {"predict_url": args.predict_url, "namespace": args.namespace, "hpa": args.hpa,
              "deployment": args.deployment, "target_qps": args.target_qps, "min_replicas": args.min_replicas}
    if args.stack:
        outputs = stack_outputs(args.stack)
        args.tracks = args.tracks or outputs.get("canaryWeight") is not None
        scaling = stack_autoscaling(args.stack)
        args.image = args.image or stack_driver_image(args.stack)
        found = {"predict_url": outputs.get("predictUrl"), "namespace": outputs.get("namespace"),
                 "hpa": outputs.get("hpaName"), "deployment": outputs.get("deploymentName"),
                 "target_qps": scaling.target_qps, "min_replicas": scaling.min_replicas}
        values = {k: v if v is not None else found[k] for k, v in values.items()}
    args.image = args.image or incluster.DEFAULT_IMAGE
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise UsageError("missing " + ", ".join("--" + k.replace("_", "-") for k in missing) +
                         " (or give --stack)")
    if not args.payload.is_file():
        raise UsageError(f"--payload {args.payload}: no such file")
    return values


def set_replicas(api, namespace: str, deployment: str, replicas: int) -> None:
    """Patch the Deployment's scale subresource (what the idle schedule's CronJobs do)."""
    client.AppsV1Api(api).patch_namespaced_deployment_scale(deployment, namespace, {"spec": {"replicas": replicas}})


def sleep_to_zero(api, namespace: str, deployment: str, timeout: float = 600, poll: float = 2) -> None:
    """Scale the Deployment to zero and wait until none of its pods is left."""
    set_replicas(api, namespace, deployment, 0)
    reader = ClusterReader(api, namespace, deployment, deployment)
    deadline = time.monotonic() + timeout
    while client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=reader.selector()).items:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods of {deployment} still present after {timeout:.0f}s")
        time.sleep(poll)


def model_of(predict_url: str) -> Optional[str]:
    """The model name in a predict URL (`.../v1/models/<name>:predict`)."""
    match = re.search(r"/v1/models/([^/:]+)(?:/versions/\d+)?:predict$", predict_url)
    return match.group(1) if match else None


def check_drivers(args: argparse.Namespace, requests: int) -> None:
    """Driver counts that make sense, before anything starts."""
    if args.processes < 1:
        raise UsageError(f"--processes {args.processes}: at least 1")
    if args.in_cluster:
        if args.parallel < 1:
            raise UsageError(f"--parallel {args.parallel}: at least 1")
        share = math.ceil(requests / args.parallel)
        if share > incluster.MAX_SHARE:
            need = math.ceil(requests / incluster.MAX_SHARE)
            raise UsageError(f"--parallel {args.parallel}: {share} requests per driver pod; its samples would "
                             f"not fit in one kubelet log file (at most {incluster.MAX_SHARE}); use "
                             f"--parallel {need} or more")


class ProgressLine:
    """One line per second: phase, sent rate, success so far, p95, replicas.

    It runs on the event loop that sends the requests, so each call does work proportional to
    the last second's requests, not to the whole run: outcomes are in schedule order, the last
    second is found by bisection, and the success count advances a cursor over settled ones.
    """

    def __init__(self, profile, samples, stream=sys.stderr):
        self.profile, self.samples, self.stream = profile, samples, stream
        self.scheduled: Optional[list[float]] = None
        self.settled = self.ok = 0
        self.failures: Counter[str] = Counter()

    def __call__(self, t, outcomes) -> None:
        if self.scheduled is None:
            self.scheduled = [o.scheduled for o in outcomes]
        while self.settled < len(outcomes):
            o = outcomes[self.settled]
            if not o.settled:
                break  # in flight, or not yet due
            self.ok += o.ok
            if not o.ok:
                self.failures[cause(o)] += 1
            self.settled += 1
        recent = outcomes[bisect.bisect_left(self.scheduled, t - 1):bisect.bisect_left(self.scheduled, t)]
        rate = sum(1 for o in recent if o.sent is not None)
        p95 = percentile([o.latency for o in recent if o.ok], 95)
        replicas = cluster_text(self.samples)
        success = f"{100 * self.ok / self.settled:.1f}%" if self.settled else "-"
        latency = f"{p95 * 1000:.0f}ms" if p95 is not None else "-"
        phase = self.profile.phase_at(t)
        failed = ", ".join(f"{name} {count}" for name, count in self.failures.most_common(3))
        print(f"[{t:6.0f}s] {phase:8s} sent {rate:6.1f}/s ok {success:>6s} p95 {latency:>6s} | {replicas}"
              + (f" | failed: {failed}" if failed else ""), file=self.stream, flush=True)


# Seconds between starting local worker processes and their agreed start: spawning and importing.
PROCESS_LEAD = 3.0


async def run_load(args, values, profile, payload: bytes, api) -> tuple[list, list, list]:
    """The requests' outcomes, the cluster samples and, for several drivers, each share's report."""
    schedule = profile.schedule()
    headers = {**({"Host": args.host_header} if args.host_header else {}),
               "X-Request-ID": args.request_id}
    lead = args.start_margin if args.in_cluster else PROCESS_LEAD if args.processes > 1 else 0.0
    start_wall = time.time() + lead
    origin = time.monotonic() + lead  # the watcher's clock and the drivers' share one time zero
    samples: list = []
    reader = ClusterReader(api, values["namespace"], values["hpa"], values["deployment"],
                           ingress=args.ingress or values["deployment"], model=model_of(values["predict_url"]))
    done = asyncio.Event()
    watcher = asyncio.create_task(watch(reader, origin, done, args.sample_period, samples))
    loop = asyncio.get_running_loop()
    reports: list = []
    if args.from_zero:
        # The wake, as the idle schedule's CronJob does it, at time zero of the run.
        await loop.run_in_executor(None, functools.partial(
            set_replicas, api, values["namespace"], values["deployment"], values["min_replicas"]))
    try:
        if args.in_cluster:
            plan = incluster.JobPlan(
                name=incluster.new_name(), namespace=args.job_namespace or values["namespace"],
                url=values["predict_url"], profile=profile, parallel=args.parallel, start_at=start_wall,
                image=args.image, timeout=args.timeout, max_in_flight=args.max_in_flight,
                host_header=args.host_header, pip_index_url=args.pip_index_url,
                request_id=args.request_id)
            say = None if args.no_progress else (lambda message: print(message, file=sys.stderr, flush=True))
            outcomes, reports = await loop.run_in_executor(
                None, functools.partial(incluster.run, api, plan, payload, on_status=say))
        elif args.processes > 1:
            progress = None if args.no_progress else processes.Progress(
                args.processes, phase_at=profile.phase_at, cluster=lambda: cluster_text(samples))
            outcomes = await loop.run_in_executor(None, functools.partial(
                processes.run_processes, values["predict_url"], payload, schedule, args.processes,
                start_wall=start_wall, progress=progress, timeout=args.timeout, headers=headers,
                max_in_flight=max(1, math.ceil(args.max_in_flight / args.processes))))
        else:
            progress = None if args.no_progress else ProgressLine(profile, samples)
            outcomes = await drive(values["predict_url"], payload, schedule, timeout=args.timeout,
                                   max_in_flight=args.max_in_flight, headers=headers, on_tick=progress,
                                   origin=origin)
    finally:
        done.set()
    await watcher
    return outcomes, samples, reports


def ingress_log(args, api, started: datetime) -> tuple[list[str], Optional[str]]:
    """The ingress controller's log lines since the run started, and why none could be read."""
    since = math.ceil((datetime.now(UTC) - started).total_seconds()) + 60
    return tracks.read_logs(api, args.ingress_namespace, args.ingress_selector, since)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        values = resolve(args)
        profile = standard_profile(values["target_qps"], values["min_replicas"], peak_rps=args.peak_rps,
                                   warmup=args.warmup, ramp=args.ramp, hold=args.hold, cooldown=args.cooldown)
        check_drivers(args, sum(phase.count() for phase in profile.phases))
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    payload = args.payload.read_bytes()
    # The cluster first: a run that cannot watch it says so before it plans, sends or writes anything.
    try:
        api = api_client(args.kube_api_url, args.kube_context)
        reachable(api)
    except KubeconfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    # One id for the run's requests: the ingress log's req_id finds them among everyone's.
    args.request_id = f"loadtest-{started:%Y%m%dT%H%M%SZ}-{os.urandom(4).hex()}"
    name = args.stack or values["deployment"]
    out = args.out or ROOT / "build" / "loadtest" / f"{name}-{started:%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, exist_ok=True)
    threshold = values["target_qps"] * values["min_replicas"]
    print(f"load test of {values['predict_url']}: {len(profile.schedule())} requests over "
          f"{profile.duration:.0f}s, threshold {threshold:g} rps; report in {out}", file=sys.stderr)
    if args.from_zero:
        try:
            sleep_to_zero(api, values["namespace"], values["deployment"])
        except (TimeoutError, ApiException) as exc:
            print(f"error: --from-zero could not bring {values['deployment']} to zero pods: {exc}", file=sys.stderr)
            return 2
    outcomes, samples, reports = asyncio.run(run_load(args, values, profile, payload, api))
    rows = timeline(outcomes, samples, profile)
    # The run's requests in the ingress log (loadtest/tracks.py): each track's answers, and how
    # the pods that joined answered first.
    lines, log_problem = ingress_log(args, api, started)
    sent = sum(1 for o in outcomes if o.sent is not None)
    answered_by = tracks.summary(tracks.tally(lines, args.request_id), sent, log_problem) if args.tracks else None
    joined = tracks.new_pods(lines, args.request_id)
    lost = [f"driver {r.index} ({r.pod or 'no pod'}): {r.problem}" for r in reports if r.problem]
    result = verdict(outcomes, samples, profile, target_qps=values["target_qps"],
                     min_replicas=values["min_replicas"], scale_out_within=args.scale_out_within,
                     max_error_rate=args.max_error_rate, lost_drivers=lost if reports else None,
                     wake_within=args.wake_within if args.from_zero else None)
    drivers = ({"mode": "in-cluster", "count": args.parallel, "image": args.image,
                "reports": [{"index": r.index, "pod": r.pod, "problem": r.problem} for r in reports]}
               if args.in_cluster else {"mode": "local", "count": args.processes})
    meta = {"started": started.isoformat(), "target": values, "threshold_rps": threshold,
            "phases": [{"name": n, "start": s, "end": e} for n, s, e in profile.boundaries()],
            "payload": str(args.payload), "drivers": drivers, "request_id": args.request_id,
            "tracks": answered_by, "new_pods": {"problem": log_problem, "pods": joined}}
    write_json(out / "report.json", meta, rows, samples, result)
    write_chart(out / "report.png", rows, profile, threshold, f"{name}: {values['predict_url']}", result,
                new_pods=joined)
    for check in result.checks:
        print(f"{'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    if answered_by is not None:
        print(tracks.text(answered_by))
    print(tracks.new_pods_text(joined, log_problem))
    print(f"verdict: {'PASS' if result.passed else 'FAIL'} ({out / 'report.json'}, {out / 'report.png'})")
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
