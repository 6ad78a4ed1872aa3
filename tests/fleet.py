"""A stand-in serving fleet in simulated time: pods of TF Serving processes (loadtest/
tfserving_process.py, transcribed from TF Serving's source), their mounted ConfigMaps as the
kubelet or ECI keeps them, the headless Service's ready pods, and a rolling update as the
Deployment controller does one (maxSurge 1, maxUnavailable 0: a new pod first, an old one removed
once the new one is ready). The version gate's checks run against it unchanged: `addresses`,
`get`, `wait` and `clock` are the functions they take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from loadtest.tfserving_process import ConfigMapHistory, Load, MountedFile, TfServingProcess

MODEL = "m"


@dataclass
class Pod:
    address: str
    process: TfServingProcess
    served_file: MountedFile
    """The served-version file (in place), as the kubelet keeps it."""
    pinned: Optional[int]
    """The served version in the pod template (rolling); None: read from the file."""

    def ready(self, t: float) -> bool:
        """The readiness probe: the served version AVAILABLE (from the file, or the template); before
        the file exists, the newest version (components/serving/versions/served.py)."""
        self.process.advance(t)
        if self.pinned is not None:
            return self.process.available(self.pinned)
        served = self.served_file.read(t)
        version = served[0] if served else max(self.process.monitor, default=-1)
        return self.process.available(version)


@dataclass
class Fleet:
    """Serving pods on nodes (`eci=False`: the kubelet refreshes mounted ConfigMaps every minute)
    or on ECI (never refreshed)."""

    disk: Mapping[int, Load]
    versions: tuple[int, ...]
    served: int
    eci: bool = False
    in_place: bool = True
    """How the program carries a version change (config/derived.py `versions_in_place`)."""
    fs_poll: float = 60.0
    replicas: int = 2
    now: float = 0.0
    model_config: ConfigMapHistory = field(default_factory=ConfigMapHistory)
    served_config: ConfigMapHistory = field(default_factory=ConfigMapHistory)
    pods: list[Pod] = field(default_factory=list)
    _next: int = 1

    def __post_init__(self) -> None:
        self.model_config.set(0.0, self.versions)
        self.served_config.set(0.0, (self.served,))
        for _ in range(self.replicas):
            self.pods.append(self.new_pod())
        self.advance(self.now + 600)  # settled: every listed version loaded (or failed)

    def new_pod(self) -> Pod:
        sync = None if self.eci else 60.0
        config = MountedFile(self.model_config, self.now, sync)
        process = TfServingProcess(MODEL, config.read, self.disk, started=self.now, fs_poll=self.fs_poll)
        address = f"10.0.0.{self._next}:8501"
        self._next += 1
        return Pod(address, process, MountedFile(self.served_config, self.now, sync),
                   None if self.in_place else self.served)

    def advance(self, t: float) -> None:
        self.now = max(self.now, t)
        for pod in self.pods:
            pod.process.advance(self.now)

    def change(self, versions: tuple[int, ...], served: Optional[int] = None, reload: bool = False) -> bool:
        """What `pulumi up` does to the fleet: the model config (and, rolling, the pod template);
        then the Deployment's rollout, which pulumi awaits. Returns whether the rollout completed
        within the Deployment's deadline."""
        self.versions = versions
        self.served = self.served if served is None else served
        self.model_config.set(self.now, versions)
        if self.in_place and not reload:
            return True
        return self.roll()

    def switch_served_file(self) -> None:
        """The serve gate passed (in place): the served-version ConfigMap changes."""
        self.served_config.set(self.now, (self.served,))

    def roll(self, deadline: float = 40 * 60) -> bool:
        """One new pod at a time; an old one goes once the new one is ready."""
        old = list(self.pods)
        start = self.now
        for pod in old:
            fresh = self.new_pod()
            self.pods.append(fresh)
            while not fresh.ready(self.now):
                if self.now - start > deadline:
                    return False
                self.wait(5)
            self.pods.remove(pod)
        return True

    # --- what the version gate's checks take --------------------------------------------------------

    def addresses(self) -> list[str]:
        """The headless Service: ready pods only."""
        return sorted(p.address for p in self.pods if p.ready(self.now))

    def get(self, url: str) -> tuple[int, Any]:
        address, path = url.removeprefix("http://").split("/", 1)
        pod = next(p for p in self.pods if p.address == address)
        pod.process.advance(self.now)
        return pod.process.status(int(path.rsplit("/", 1)[1]))

    def wait(self, seconds: float) -> None:
        self.advance(self.now + seconds)

    def clock(self) -> float:
        return self.now
