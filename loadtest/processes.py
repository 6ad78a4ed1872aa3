"""Several local driver processes as one load test: `--processes N`.

One Python process tops out near 2,000 requests/s (the event loop's own CPU), so the schedule is
split round robin (shares.py) across N processes, each an open-loop driver on its share. They
agree on one start instant on the wall clock, so their `sent` times share an origin, and their
outcomes are merged back into the single schedule's order. Each second they report a little to
the parent (a queue), which prints one progress line for the whole run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Optional, TextIO

from .driver import Outcome, drive
from .shares import merge, split

_progress: Optional[Any] = None  # the worker's end of the progress queue (set by _init)


def _init(progress: Any) -> None:
    global _progress
    _progress = progress


def _tick_reporter(worker: int):
    """on_tick for a worker: the last second's sent count, successes, failures and latencies."""
    cursor = [0]

    def tick(t: float, outcomes: Sequence[Outcome]) -> None:
        if _progress is None:
            return
        sent = ok = 0
        failures: Counter[str] = Counter()
        latencies = []
        # Outcomes settle roughly in order; scan from the last unsettled one.
        index = cursor[0]
        while index < len(outcomes):
            o = outcomes[index]
            if not o.settled:
                break
            sent += o.sent is not None
            if o.ok:
                ok += 1
                latencies.append(o.latency)
            else:
                failures[o.error or f"HTTP {o.status}"] += 1
            index += 1
        cursor[0] = index
        _progress.put((worker, int(t), sent, ok, dict(failures), latencies))

    return tick


def _drive_share(url: str, payload: bytes, share: list[tuple[float, str]], start_wall: float, worker: int,
                 options: dict) -> list[Outcome]:
    """In a worker process: drive one share from the agreed wall-clock instant."""
    origin = time.monotonic() + (start_wall - time.time())
    return asyncio.run(drive(url, payload, share, origin=origin, on_tick=_tick_reporter(worker), **options))


class Progress:
    """The parent's progress line: the workers' per-second reports summed."""

    def __init__(self, workers: int, stream: TextIO = sys.stderr, phase_at=None,
                 cluster: Callable[[], str] = lambda: "replicas ?"):
        self.workers, self.stream, self.phase_at = workers, stream, phase_at
        self.cluster = cluster
        """What the parent's watcher last read of the cluster, as the line shows it."""
        self.sent = self.ok = 0
        self.failures: Counter[str] = Counter()
        self.pending: dict[int, list] = {}

    def add(self, report: tuple) -> None:
        _, second, sent, ok, failures, latencies = report
        entry = self.pending.setdefault(second, [0, 0, Counter(), [], 0])
        entry[0] += sent
        entry[1] += ok
        entry[2].update(failures)
        entry[3].extend(latencies)
        entry[4] += 1
        if entry[4] == self.workers:
            self.print(second, self.pending.pop(second))

    def print(self, second: int, entry: list) -> None:
        sent, ok, failures, latencies, _ = entry
        self.sent += sent
        self.ok += ok
        self.failures.update(failures)
        latencies.sort()
        p95 = f"{latencies[int(0.95 * (len(latencies) - 1))] * 1000:.0f}ms" if latencies else "-"
        settled = self.ok + sum(self.failures.values())
        success = f"{100 * self.ok / settled:.1f}%" if settled else "-"
        phase = self.phase_at(second) if self.phase_at else ""
        failed = ", ".join(f"{name} {count}" for name, count in self.failures.most_common(3))
        print(f"[{second:6d}s] {phase:8s} settled {sent:6d} in the last second, ok {success:>6s} p95 {p95:>6s} "
              f"({self.workers} processes) | {self.cluster()}"
              + (f" | failed: {failed}" if failed else ""), file=self.stream, flush=True)


def run_processes(url: str, payload: bytes, schedule: Sequence[tuple[float, str]], processes: int, *,
                  start_wall: float, progress: Optional[Progress] = None, **options) -> list[Outcome]:
    """Drive `schedule` from `processes` worker processes starting at `start_wall` (time.time());
    the outcomes come back in the schedule's order."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads and a loop
    reports = context.Queue()
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            try:
                report = reports.get(timeout=0.2)
            except queue.Empty:
                continue
            if progress is not None:
                progress.add(report)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        with ProcessPoolExecutor(processes, mp_context=context, initializer=_init, initargs=(reports,)) as pool:
            futures = [pool.submit(_drive_share, url, payload, share, start_wall, worker, options)
                       for worker, share in enumerate(split(list(schedule), processes))]
            results = [future.result() for future in futures]
    finally:
        stop.set()
        reader.join()
    return merge(results)
