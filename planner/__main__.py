"""Replay a traffic trace through stacks' autoscaling, before `pulumi up`.

    python -m planner --stack dev --trace step:10:100:300 [--compare prod ...] --out build/plan
        [--set NAME=VALUE ...] [--calibrate REPORT] [--prices FILE] [--duration SECONDS]

Writes DIR/plan.json (per-second timeline and summary per stack) and DIR/plan.png, and prints a
short table. Exit codes: 0 done, 2 bad input (config, trace, --set, prices), named on stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Optional

from config.errors import ConfigError
from settings import awake_text

from . import params, plot, prices, traces
from .simulate import Run, schedule_of, simulate, summary
from .stack import StackPlan, plan_of

# A fixed Monday midnight (China Standard Time): plans of the same trace are the same on any day.
DEFAULT_START = datetime.datetime(2026, 11, 23, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def _table(rows: list[dict[str, Any]]) -> str:
    columns = [("stack", "stack", 8), ("mode", "mode", 8), ("bursts", "bursts", 6),
               ("first burst waits", "wait", 17), ("above capacity", "share", 14), ("served cold", "cold", 11),
               ("peak pods", "peak", 9),
               ("mean pods", "mean", 9), ("GPU-hours", "gpu_hours", 9), ("cost", "cost", 10)]
    lines = ["  ".join(f"{title:>{width}}" for title, _, width in columns)]
    for row in rows:
        lines.append("  ".join(f"{row[key]!s:>{width}}" for _, key, width in columns))
    return "\n".join(lines)


def plan(stacks: list[StackPlan], offered: list[float], values: params.Values,
         table: Optional[prices.PriceTable], start: datetime.datetime) -> dict[str, Any]:
    """Simulate each stack; the content of plan.json."""
    discount = values["spotDiscount"] if table is None or table.spot_discount is None else table.spot_discount
    out: dict[str, Any] = {"seconds": len(offered), "stacks": {}}
    for stack in stacks:
        a = stack.settings.autoscaling
        schedule = schedule_of(a.idle, a.bounds.min_replicas, start, len(offered))
        run: Run = simulate(offered, stack.hpa, stack.capacity, values, a.bounds.target_qps, schedule)
        hourly = table.hourly(stack.capacity.instance_type) if table is not None else None
        used = list(run.used) + (["spotDiscount"] if hourly is not None and table is not None
                                 and table.spot_discount is None and stack.capacity.spot_share else [])
        out["stacks"][stack.name] = {
            "mode": stack.capacity.mode,
            "instanceType": stack.capacity.instance_type,
            "hpa": {"minReplicas": stack.hpa.min_replicas, "maxReplicas": stack.hpa.max_replicas,
                    "targetQps": a.bounds.target_qps},
            "unmeasured": values.unmeasured(used),
            "priced": hourly is not None,
            "idle": {"mode": "always-on" if a.idle is None else "schedule", "awake": awake_text(a.idle),
                     "asleepAtStart": schedule.asleep_at_start,
                     "events": [{"t": t, "replicas": r} for t, r in schedule.events]},
            "summary": summary(run, hourly, discount, schedule),
            "timeline": run.timeline.columns(),
            "_run": run,
        }
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m planner", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--compare", nargs="*", default=[], metavar="STACK", help="more stacks, side by side")
    parser.add_argument("--trace", required=True,
                        help=f"a CSV of seconds,qps; a load-test report.json; or {', '.join(traces.SHAPES)}")
    parser.add_argument("--duration", type=int, help="seconds of a built-in shape (or a cut of a file)")
    parser.add_argument("--out", type=Path, required=True, help="directory for plan.json and plan.png")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a named value: " + ", ".join(p.name for p in params.PARAMS))
    parser.add_argument("--calibrate", type=Path, metavar="REPORT",
                        help="fit metricDelay and podStart from a load-test report.json of the real cluster")
    parser.add_argument("--prices", type=Path, metavar="FILE", help="price table for the cost (planner/prices.py)")
    parser.add_argument("--start", type=datetime.datetime.fromisoformat, default=DEFAULT_START,
                        help="wall-clock time of the trace's first second, for an idle schedule "
                             "(ISO 8601; default %(default)s, a Monday midnight in UTC+8)")
    parser.add_argument("--no-chart", action="store_true", help="skip plan.png")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)

    try:
        if args.duration is not None and args.duration < 1:
            raise traces.TraceError("--duration must be at least 1 second")
        offered = traces.load(args.trace, args.duration)
        if not offered:
            raise traces.TraceError(f"trace {args.trace!r} has no seconds")
        values = params.defaults()
        if args.calibrate is not None:
            report = json.loads(args.calibrate.read_text(encoding="utf-8"))
            fitted = params.calibrate(report, round(values["metricWindow"]))
            if not fitted:
                raise params.ParamError(f"--calibrate {args.calibrate}: the report has neither HPA readings "
                                        "nor a completed scale-out to fit")
            values = values.with_overrides(fitted, "--calibrate")
        values = values.with_overrides(params.parse_sets(args.set), "--set")
        table = prices.load(args.prices) if args.prices is not None else None
        stacks = [plan_of(name) for name in [args.stack, *args.compare]]
    except (ConfigError, traces.TraceError, params.ParamError, OSError, json.JSONDecodeError) as exc:
        # Bad input, named: exit 2 before anything is written.
        print(f"error: {exc}", file=sys.stderr)
        return 2

    start = args.start if args.start.tzinfo else args.start.replace(tzinfo=datetime.UTC)
    result = plan(stacks, offered, values, table, start)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = [(name, entry.pop("_run").timeline) for name, entry in result["stacks"].items()]
    document = {
        "trace": args.trace,
        "seconds": result["seconds"],
        "start": start.isoformat(),
        "values": values.describe(),
        "prices": None if table is None else {"date": str(table.date), "source": table.source,
                                               "currency": table.currency},
        "stacks": result["stacks"],
    }
    (args.out / "plan.json").write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")
    if not args.no_chart:
        plot.write(args.out / "plan.png", runs, f"{args.trace} ({result['seconds']} s)")

    rows = []
    for stack in stacks:
        entry = result["stacks"][stack.name]
        s = entry["summary"]
        first = s["bursts"][0] if s["bursts"] else None
        wait = "-" if first is None else ("not reached" if first["seconds_to_capacity"] is None
                                          else f"{first['seconds_to_capacity']} s")
        rows.append({"stack": stack.name, "mode": entry["mode"], "bursts": len(s["bursts"]), "wait": wait,
                     "share": f"{s['share_above_capacity']:.2%}",
                     "cold": f"{s['share_served_cold']:.2%}", "peak": s["peak_ready_replicas"],
                     "mean": f"{s['mean_ready_replicas']:.2f}", "gpu_hours": f"{s['gpu_hours']:.2f}",
                     "cost": "-" if s["cost"] is None else f"{s['cost']:.2f}"})
    print(_table(rows))
    for stack in stacks:
        print(f"{stack.name}: {result['stacks'][stack.name]['idle']['awake']}")
    unmeasured = sorted({n for entry in result["stacks"].values() for n in entry["unmeasured"]})
    if unmeasured:
        print(f"\nnot measured, at an order-of-magnitude default: {', '.join(unmeasured)}; "
              "fit them with --calibrate REPORT or set them with --set NAME=VALUE (docs/planner.md)")
    if table is None:
        print("no cost: pass --prices FILE (docs/planner.md says why none ships)")
    print(f"\nwrote {args.out / 'plan.json'}" + ("" if args.no_chart else f" and {args.out / 'plan.png'}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
