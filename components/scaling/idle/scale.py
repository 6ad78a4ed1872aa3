"""The idle schedule's CronJobs run this in a pod as `main(argv)` (components/jobs/pod.py carries
it and kube_api.py into a stock Python image; standard library only): `scale NAMESPACE DEPLOYMENT
REPLICAS` sets the Deployment's replicas through its scale subresource; at zero the HPA stands
aside until the wake sets them back.

Exit status: 0 done, 1 failed (the message on stderr), 2 bad arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from components.jobs.kube_api import report, set_replicas

USAGE = "usage: scale NAMESPACE DEPLOYMENT REPLICAS"


def main(argv: Sequence[str]) -> int:
    try:
        command, namespace, deployment, replicas = argv
        if command != "scale":
            raise ValueError(command)
        count = int(replicas)
    except ValueError as exc:
        print(f"{USAGE} ({exc})", file=sys.stderr)
        return 2
    return report(set_replicas(namespace, deployment, count))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
