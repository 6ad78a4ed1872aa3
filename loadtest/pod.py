"""The driver inside an in-cluster load pod (`python -m loadtest.pod`), one per Job index.

It needs only the standard library, aiohttp and the three modules beside it (driver, profile,
shares), which the Job mounts from a ConfigMap. Everything else comes from the environment the
Job sets: the profile's phases, the share count, the agreed start instant. It waits for that
instant, drives its share (its Job completion index) and prints its outcomes as sample lines,
which the runner reads back from the pod's log.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from .driver import drive
from .profile import Phase, Profile
from .shares import encode, split


def main() -> int:
    env = os.environ
    index = int(env["JOB_COMPLETION_INDEX"])
    shares = int(env["LOADTEST_SHARES"])
    profile = Profile(tuple(Phase(**p) for p in json.loads(env["LOADTEST_PHASES"])))
    share = split(profile.schedule(), shares)[index]
    payload = Path(env.get("LOADTEST_PAYLOAD", "/app/payload.json")).read_bytes()
    start_at = float(env["LOADTEST_START_AT"])
    headers = {**({"Host": env["LOADTEST_HOST_HEADER"]} if env.get("LOADTEST_HOST_HEADER") else {}),
               **({"X-Request-ID": env["LOADTEST_REQUEST_ID"]} if env.get("LOADTEST_REQUEST_ID") else {})} or None
    late = time.time() - start_at
    if late > 1:
        # Requests already due go at once; the report shows them as sent late.
        print(f"share {index}: started {late:.1f}s after the agreed instant", file=sys.stderr, flush=True)
    origin = time.monotonic() + (start_at - time.time())
    outcomes = asyncio.run(drive(env["LOADTEST_URL"], payload, share, origin=origin,
                                 timeout=float(env.get("LOADTEST_TIMEOUT", "10")),
                                 max_in_flight=int(env.get("LOADTEST_MAX_IN_FLIGHT", "2000")), headers=headers))
    for line in encode(index, outcomes):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
