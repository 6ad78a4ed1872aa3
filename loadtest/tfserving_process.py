"""A stand-in for one `tensorflow_model_server` process's model versions, as its source behaves,
and for the kubelet that hands it its mounted model config. Pure state in a clock the caller
drives (seconds), so a test can run minutes of it in microseconds and a loopback server can run
it in wall time.

Transcribed from tensorflow/serving at tag 1.15.0 (the same at 2.19.1 where it matters here; the
lines are cited beside each rule), read from the repository snapshot:

- The model config file is read at start and then every `config_poll` seconds
  (model_servers/server.cc L295-308 PeriodicFunction, which runs at once and then every interval;
  PollFilesystemAndReloadConfig L163-178 calls ServerCore::ReloadConfig on every poll). A reload
  only records the new version list in the file-system source (sources/storage_path/
  file_system_storage_path_source.cc UpdateConfig L319-345: no directory poll, only whole models
  removed at once).
- The model directory is listed at start and then every `fs_poll` seconds; with 0 it is listed
  exactly once, at start (SetAspiredVersionsCallback L347-385, the one-shot thread). Each listing
  aspires the listed versions found on disk; a listed version with no directory is only a log
  warning, never in the status API (AspireSpecificVersions L178-210).
- The manager (core/aspired_versions_manager.cc at 1.15.0): a newly aspired version starts as
  START (basic_manager.cc ManageServableInternal publishes kStart L337-369) and is loaded when it
  is the highest aspired new version (aspired_version_policy.cc GetHighestAspiredNewServableId
  L21-33); loads run one at a time on the manager thread (server_core.h num_load_threads = 0,
  InlineExecutor: a load holds up every other load and unload). A load is LOADING through all
  its attempts: 1 + `max_retries`, `retry_interval` apart (loader_harness.cc Load L70-94,
  util/retrier.cc L24-50), then AVAILABLE or END with the error (basic_manager.cc L249-252).
- A version whose load failed and that stays aspired is never loaded again
  (ProcessAspiredVersionsRequest L249-306 adds only versions not already aspired; the policy loads
  only kNew). A version no longer aspired is unloaded (UNLOADING, then END with OK) once an aspired
  version is AVAILABLE or none is aspired (availability_preserving_policy.cc L42-83); a failed one
  is dropped, its END state kept.
- The status API (model_servers/get_model_status_impl.cc L75-107) answers the last state the
  monitor saw, which it keeps for the life of the process (servable_state_monitor.cc L220-242:
  only overwritten); a version never seen is 404 "Could not find version <v> of model <m>".
- A predict to a version that is not AVAILABLE is 404 "Servable not found for request:
  Specific(<m>, <v>)" (the message the load test's stand-in has always returned).
- A version's status carries the load's error as util/status_util.cc ToStatusProto (L23-31 at
  2.19.1) makes it: `error_code` the status code's name, `error_message` its message alone.
- Each load attempt replays the version's warmup file after the bundle is created, before the
  version is AVAILABLE (saved_model_bundle_source_adapter.cc L78-86 at 2.19.1; `replay` below), and
  a failed replay fails the attempt like any load error: retried, then END with its status.

The kubelet: on a node a mounted ConfigMap is refreshed at the pod's sync, every `sync_period`
seconds (default 1m: k8s.io/kubelet:config/v1beta1/types.go syncFrequency), the volume re-set up
through the atomic writer (pkg/volume/configmap RequiresRemount); on ECI no source shows any
refresh (virtual-kubelet/virtual-kubelet#158, PR #586 closed unmerged; virtual-kubelet/alibabacloud-eci
copies a ConfigMap into the instance once, at creation, and its UpdatePod does nothing), so the
file is what it was when the pod was created.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Optional

from google.protobuf.message import DecodeError

from config.warmup import DEFAULT_SIGNATURE, MAX_RECORDS, Signature, WarmupError, dtype_name, records
from config.warmup_proto import serving_warmup_pb2 as pb
from settings import WARMUP_FILE

Failure = tuple[str, str]
"""A status as GetModelStatus shows it: (error_code, error_message)."""


def _predict(request: pb.PredictRequest, signature: Optional[Signature]) -> Optional[Failure]:
    """What RunPredict answers a replayed request, up to Session::Run (predict_util.cc at 2.19.1:
    the signature L85-93; VerifyRequestInputsSize L51-73 and saved_model::GetInputValues for the
    inputs; the session's own dtype check, "Expects arg[i] to be float but int32 is provided", with
    i the input's place in the signature's sorted inputs). A shape the graph refuses is not
    modelled (config/rules/warmup.py refuses it before anything is uploaded). With no signature
    given, every request runs."""
    if signature is None:
        return None
    name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    if name != signature.name:
        return "FAILED_PRECONDITION", f'Serving signature key "{name}" not found.'
    if len(request.inputs) > len(signature.inputs):
        return "INVALID_ARGUMENT", (f"Request inputs contains more tensors than the signature {name} "
                                    f"({len(request.inputs)} > {len(signature.inputs)})")
    for alias in request.inputs:
        if alias not in signature.inputs:
            return "INVALID_ARGUMENT", f"Inputs contains invalid name: {alias}"
    for index, (alias, spec) in enumerate(sorted(signature.inputs.items())):
        if alias not in request.inputs:
            return "INVALID_ARGUMENT", f"Missing input for signature: {alias}"
        got = request.inputs[alias].dtype
        if got != spec.dtype:
            def text(d: int) -> str:
                return dtype_name(d).removeprefix("DT_").lower()
            return "INVALID_ARGUMENT", f"Expects arg[{index}] to be {text(spec.dtype)} but {text(got)} is provided"
    return None


def replay(data: Optional[bytes], request_seconds: float, signature: Optional[Signature],
           path: str = WARMUP_FILE) -> tuple[float, Optional[Failure]]:
    """RunSavedModelWarmup's sequential path (servables/tensorflow/saved_model_warmup_util.cc at
    2.19.1, the same at 1.15.0 in saved_model_warmup.cc): how long the replay takes and the status
    it fails the load with. No file: OK at once (L81-85). Each record is parsed (else
    INVALID_ARGUMENT "Failed to parse warmup record", L114-117), run (the first failing request
    ends the replay, L119-121: a predict_log through RunPredict; a record with no log type set is
    skipped, saved_model_warmup.cc L39-78), then counted, and the 1001st fails the load after it
    ran (L122-127). Damage in the framing ends it with DATA_LOSS once the records before it ran
    (L226-230)."""
    if data is None:
        return 0.0, None
    seconds, count = 0.0, 0
    try:
        for record in records(data):
            try:
                log = pb.PredictionLog.FromString(record)
            except DecodeError:
                return seconds, ("INVALID_ARGUMENT", f"Failed to parse warmup record: {record!r} from {path}")
            if log.WhichOneof("log_type") == "predict_log":
                seconds += request_seconds
                failure = _predict(log.predict_log.request, signature)
                if failure is not None:
                    return seconds, failure
            count += 1
            if count > MAX_RECORDS:
                return seconds, ("INVALID_ARGUMENT",
                                 f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}")
    except WarmupError as exc:
        return seconds, ("DATA_LOSS", f"{exc}. Please verify your warmup data is in TFRecord format.")
    return seconds, None


@dataclass(frozen=True)
class Load:
    """What loading one version from the model directory does: how long an attempt takes, and the
    error it ends with (None: it loads)."""

    seconds: float = 20.0
    error: Optional[str] = None
    code: str = "UNKNOWN"
    """The error's status code, as the status API names it."""
    warmup: Optional[bytes] = None
    """The version's warmup file (None: it has none)."""
    request_seconds: float = 0.0
    """How long one replayed request takes on a fresh session."""
    signature: Optional[Signature] = None
    """The version's serving signature, which the replayed requests must fit (None: any fits)."""

    def attempt(self) -> tuple[float, Optional[Failure]]:
        """One load attempt: its seconds, and how it fails (None: the version is AVAILABLE)."""
        if self.error is not None:
            return self.seconds, (self.code, self.error)
        took, failure = replay(self.warmup, self.request_seconds, self.signature)
        return self.seconds + took, failure


@dataclass
class ConfigMapHistory:
    """A ConfigMap's value in the API server over time."""

    changes: list[tuple[float, tuple[int, ...]]] = field(default_factory=list)

    def set(self, at: float, value: tuple[int, ...]) -> None:
        self.changes.append((at, tuple(value)))

    def at(self, t: float) -> tuple[int, ...]:
        """The value at time `t`."""
        value: tuple[int, ...] = ()
        for when, v in self.changes:
            if when <= t:
                value = v
        return value


@dataclass(frozen=True)
class MountedFile:
    """A ConfigMap's key as a file in a pod: refreshed at each kubelet sync on a node, fixed at
    the pod's creation on ECI."""

    api: ConfigMapHistory
    created: float
    """When the pod was created (the file's first content)."""
    sync_period: Optional[float] = 60.0
    """How often the kubelet refreshes it; None: never (ECI)."""

    def read(self, t: float) -> tuple[int, ...]:
        """What the container reads at `t`."""
        if self.sync_period is None:
            return self.api.at(self.created)
        return self.api.at(self.created + math.floor((t - self.created) / self.sync_period) * self.sync_period)


@dataclass
class _Version:
    state: str = "START"
    failure: Optional[Failure] = None
    aspired: bool = True


@dataclass
class TfServingProcess:
    """One server's versions of one model, advanced by `advance(now)`."""

    model: str
    config: Callable[[float], tuple[int, ...]]
    """The versions in the model config file as the server reads it at a given time."""
    disk: Mapping[int, Load]
    """The model directory: each version present and how its load goes (absent: no directory)."""
    started: float = 0.0
    config_poll: float = 30.0
    """--model_config_file_poll_wait_seconds."""
    fs_poll: float = 60.0
    """--file_system_poll_wait_seconds (0: once at start)."""
    max_retries: int = 2
    """--max_num_load_retries."""
    retry_interval: float = 30.0
    """--load_retry_interval_micros, in seconds."""
    now: float = 0.0
    listed: tuple[int, ...] = ()
    """The source's version list: the config as of its last reload."""
    versions: dict[int, _Version] = field(default_factory=dict)
    monitor: dict[int, tuple[str, Optional[Failure]]] = field(default_factory=dict)
    """The state monitor: every version's last published (state, failure), never forgotten."""
    loading: Optional[tuple[int, float, Optional[Failure]]] = None
    """The load the manager thread is running: (version, when it ends, how it fails)."""

    def __post_init__(self) -> None:
        self.now = self.started
        self.next_config = self.started + self.config_poll
        self.next_fs = self.started + self.fs_poll if self.fs_poll > 0 else math.inf
        self._config_poll(self.started)
        self._fs_poll(self.started)

    def _publish(self, version: int, state: str, failure: Optional[Failure] = None) -> None:
        self.versions[version].state, self.versions[version].failure = state, failure
        self.monitor[version] = (state, failure)

    def _config_poll(self, t: float) -> None:
        self.listed = tuple(self.config(t))

    def _fs_poll(self, t: float) -> None:
        aspired = {v for v in self.listed if v in self.disk}
        for version in sorted(aspired):
            known = self.versions.get(version)
            if known is None or (not known.aspired and known.state == "END"):
                # New, or dropped earlier (unloaded, or failed and no longer listed): a new harness.
                self.versions[version] = _Version()
                self._publish(version, "START")
        for version, v in self.versions.items():
            v.aspired = version in aspired
        self._manage(t)

    def _manage(self, t: float) -> None:
        """The manager thread at `t`, when it is free: unload what is no longer aspired (once an
        aspired version serves, or none is aspired), drop what failed, then load the highest
        aspired new version."""
        if self.loading is not None:
            return
        aspired = [v for v, s in self.versions.items() if s.aspired]
        serving = [v for v in aspired if self.versions[v].state == "AVAILABLE"]
        for version, s in list(self.versions.items()):
            if s.aspired:
                continue
            if s.state == "AVAILABLE" and (serving or not aspired):
                self._publish(version, "END")
            if s.state in ("START", "END"):
                del self.versions[version]  # flushed; the monitor keeps its last state
        new = sorted(v for v, s in self.versions.items() if s.aspired and s.state == "START")
        if new:
            version = new[-1]
            seconds, failure = self.disk[version].attempt()
            # Every attempt loads and replays again, and fails the same way (the file is the same).
            attempts = 1 if failure is None else 1 + self.max_retries
            self._publish(version, "LOADING")
            self.loading = (version, t + attempts * seconds + (attempts - 1) * self.retry_interval, failure)

    def _finish(self, t: float) -> None:
        assert self.loading is not None
        version, _, failure = self.loading
        self.loading = None
        if version in self.versions:
            self._publish(version, "END" if failure else "AVAILABLE", failure)
        self._manage(t)

    def advance(self, now: float) -> None:
        """Run the server until `now`: its polls and its manager, in the order they fall."""
        while True:
            finish = self.loading[1] if self.loading is not None else math.inf
            t = min(finish, self.next_config, self.next_fs)
            if t > now:
                break
            self.now = t
            if t == finish:
                self._finish(t)
            elif t == self.next_config:
                self.next_config += self.config_poll
                self._config_poll(t)
            else:
                self.next_fs += self.fs_poll
                self._fs_poll(t)
        self.now = now

    def status(self, version: int) -> tuple[int, dict]:
        """GET /v1/models/<model>/versions/<version>: (HTTP status, body)."""
        if version not in self.monitor:
            return 404, {"error": f"Could not find version {version} of model {self.model}"}
        state, failure = self.monitor[version]
        code, message = failure or ("OK", "")
        return 200, {"model_version_status": [{"version": str(version), "state": state, "status": {
            "error_code": code, "error_message": message}}]}

    def available(self, version: int) -> bool:
        """Whether a predict to this version is answered (not 404)."""
        return self.monitor.get(version, ("", None))[0] == "AVAILABLE"
