"""The open-loop driver: send each request at its scheduled time, whatever the latency.

Why not locust: its users wait for a response before the next request (a closed loop), so a
slow server lowers the offered rate and hides itself. Here requests are launched on schedule as
independent tasks over aiohttp's pooled connections; only a hard cap on requests in flight
(protecting the client machine) can stop one, and such a request is counted as `dropped`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Optional

import aiohttp


@dataclass
class Outcome:
    """One scheduled request."""

    scheduled: float
    """Seconds from the start at which it was due."""
    phase: str
    sent: Optional[float] = None
    """Seconds from the start at which it was actually sent (None: dropped)."""
    latency: Optional[float] = None
    """Seconds from send to the end of the response (None: no response)."""
    status: Optional[int] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None

    @property
    def settled(self) -> bool:
        """Answered, failed, or dropped without being sent: nothing more will happen to it."""
        return self.latency is not None or (self.sent is None and self.error is not None)


Progress = Callable[[float, Sequence[Outcome]], None]


async def drive(
    url: str,
    payload: bytes,
    schedule: Sequence[tuple[float, str]],
    *,
    timeout: float = 10.0,
    max_in_flight: int = 2000,
    headers: Optional[dict[str, str]] = None,
    on_tick: Optional[Progress] = None,
    tick: float = 1.0,
    stop: Optional[asyncio.Event] = None,
    origin: Optional[float] = None,
) -> list[Outcome]:
    """Send `payload` to `url` on `schedule`; return one Outcome per scheduled request.

    `origin` (a `time.monotonic()` value, the loop's clock) is time zero; default: now. Share it
    with the watcher so both timelines line up.
    """
    outcomes = [Outcome(scheduled=t, phase=phase) for t, phase in schedule]
    connector = aiohttp.TCPConnector(limit=max_in_flight, ttl_dns_cache=300)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    in_flight: set[asyncio.Task] = set()
    loop = asyncio.get_running_loop()
    start = loop.time() if origin is None else origin

    async def one(outcome: Outcome, session: aiohttp.ClientSession) -> None:
        sent = loop.time()
        outcome.sent = sent - start
        try:
            async with session.post(url, data=payload, headers=all_headers) as response:
                await response.read()
                outcome.status = response.status
                if response.status != 200:
                    outcome.error = f"HTTP {response.status}"
        except TimeoutError:
            outcome.error = "timeout"
        except aiohttp.ClientError as exc:
            outcome.error = type(exc).__name__
        finally:
            outcome.latency = loop.time() - sent

    async def ticker() -> None:
        while True:
            await asyncio.sleep(tick)
            if on_tick is not None:
                on_tick(loop.time() - start, outcomes)

    ticking = asyncio.create_task(ticker())
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
            index = 0
            while index < len(outcomes):
                if stop is not None and stop.is_set():
                    break
                now = loop.time() - start
                due = outcomes[index].scheduled
                if due > now:
                    await asyncio.sleep(min(due - now, 0.05))
                    continue
                # Launch everything that is due now (several per wake-up at high rates).
                while index < len(outcomes) and outcomes[index].scheduled <= now:
                    outcome = outcomes[index]
                    index += 1
                    if len(in_flight) >= max_in_flight:
                        outcome.error = "dropped: client at max in flight"
                        continue
                    task = asyncio.create_task(one(outcome, session))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*list(in_flight), return_exceptions=True)
    finally:
        ticking.cancel()
    if on_tick is not None:
        on_tick(loop.time() - start, outcomes)
    return outcomes


def run(url: str, payload: bytes, schedule: Sequence[tuple[float, str]], **kwargs) -> list[Outcome]:
    """Synchronous wrapper for scripts."""
    return asyncio.run(drive(url, payload, schedule, **kwargs))

