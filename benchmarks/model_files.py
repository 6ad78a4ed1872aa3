"""What one more file of a SavedModel costs the program, against what the SDK needs to register
the same object: the figures behind docs/testing.md, "Evaluation cost per model file".

    .venv/bin/python -m benchmarks.model_files [--files 1000] [--repeat 3] [--collector off]

Every measurement runs in a fresh process (the SDK keeps per-run state that grows) and counts
CPU time under Pulumi's mock engine, the same way the tests run the program:

- floor: a program that registers N `oss.BucketObject`s with the program's inputs (bucket,
  key, source, Content-MD5, content type, encryption) under one component, and nothing else;
- floor + depends_on: the floor, each object also waiting for the bucket's four hardening
  resources, as the program's objects must (default encryption and the public-access block
  in force before the first byte lands);
- program: the real `__main__.py` with N extra asset files in the SavedModel, minus the same
  program without them;
- walk + MD5: the program's own pure work per file (listing, hashing, keys), in-process.

Per-file figures are (time with N files - time without) / N; "collector" is the part of it
spent in CPython's cyclic garbage collector (gc.callbacks). Run it several times: whether N more
objects tip one more full collection moves a figure by up to 20%.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from components.storage.model_files import model_files
from tools import offline

HEADER = '''
import pulumi, pulumi_alicloud as alicloud
class Store(pulumi.ComponentResource):
    def __init__(self):
        super().__init__("bench:storage:Store", "store", None, None)
store = Store()
bucket = alicloud.oss.Bucket("bucket", bucket="bkt", opts=pulumi.ResourceOptions(parent=store))
hardening = [alicloud.oss.BucketAcl(f"hardening-{i}", bucket=bucket.bucket, acl="private",
             opts=pulumi.ResourceOptions(parent=store)) for i in range(4)]
'''
OBJECTS = '''
for i in range({n}):
    alicloud.oss.BucketObject(f"object-{{i}}", bucket=bucket.bucket, key=f"models/m/1/assets/{{i}}.txt",
        source=f"models/m/1/assets/{{i}}.txt", content_md5="1B2M2Y8AsgTpgAmY7PhCfg==", content_type="text/plain",
        server_side_encryption="AES256", opts=pulumi.ResourceOptions(parent=store{extra}))
'''
COLLECTOR_ENV = "MODEL_FILES_BENCH_COLLECTOR"  # how the parent tells its children
# name: extra options of each object
VARIANTS = {"floor": "", "floor + depends_on": ", depends_on=hardening"}


def _write_model(base: Path, extra_files: int) -> None:
    vdir = base / "models" / "chnsenticorp" / "1623831335"
    (vdir / "variables").mkdir(parents=True)
    (vdir / "assets").mkdir()
    (vdir / "saved_model.pb").write_bytes(b"graph")
    (vdir / "variables" / "variables.index").write_bytes(b"index")
    for i in range(extra_files):
        (vdir / "assets" / f"extra-{i:04d}.txt").write_text(f"asset {i}\n", encoding="utf-8")


class _CollectorClock:
    """CPU time spent inside CPython's cyclic garbage collector (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.total += time.process_time() - self._start


def child(kind: str, n: int) -> tuple[float, float]:
    """CPU seconds of one run, and of the collector within it: `program` with n extra files, or a
    floor variant with n objects."""
    config = offline.stack_file_config("dev")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        if kind == "program":
            _write_model(Path(tmp), n)
        else:
            main = Path(tmp) / "bench_main.py"
            main.write_text(HEADER + OBJECTS.format(n=n, extra=VARIANTS[kind]), encoding="utf-8")
            offline.MAIN = main
        # One run per process, as `pulumi up` runs the program: the imports it triggers are the
        # same with or without the extra files, so the difference is the files' own cost.
        gc.collect()
        if os.environ.get(COLLECTOR_ENV) == "off":
            gc.disable()
        clock = _CollectorClock()
        gc.callbacks.append(clock)
        start = time.process_time()
        offline.run_program(config, "dev")
        total = time.process_time() - start
        gc.callbacks.remove(clock)
        return total, clock.total


def measure(kind: str, n: int, repeat: int) -> tuple[float, float]:
    """Median per-item milliseconds, in all and in the collector, over `repeat` fresh-process
    pairs (with and without the n items)."""
    def run(count: int) -> tuple[float, float]:
        out = subprocess.run([sys.executable, "-m", "benchmarks.model_files", "--child", kind, str(count)],
                             check=True, capture_output=True, text=True)
        total, collector = out.stdout.split()
        return float(total), float(collector)

    pairs = [(run(n), run(0)) for _ in range(repeat)]
    total = statistics.median((a[0] - b[0]) / n * 1000 for a, b in pairs)
    collector = statistics.median((a[1] - b[1]) / n * 1000 for a, b in pairs)
    return total, collector


def walk_and_hash(n: int) -> float:
    """Milliseconds per file of the program's own pure work: list, hash, key."""
    with tempfile.TemporaryDirectory() as tmp:
        _write_model(Path(tmp), n)
        base = Path(tmp) / "models" / "chnsenticorp"
        start = time.process_time()
        files = model_files(base, "models/chnsenticorp", [1623831335])
        return (time.process_time() - start) / len(files) * 1000


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_files",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="extra files (objects) per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process pairs per figure (median)")
    parser.add_argument("--collector", choices=["on", "off"], default="on",
                        help="off: the registration cost alone, without CPython's cyclic collector (steadier)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.child:
        print(*child(args.child[0], int(args.child[1])))
        return 0
    os.environ[COLLECTOR_ENV] = args.collector  # inherited by the children
    figures = [
        ("floor: register the object", measure("floor", args.files, args.repeat)),
        ("floor + depends_on the 4 hardening resources", measure("floor + depends_on", args.files, args.repeat)),
        ("program: one more file of the SavedModel", measure("program", args.files, args.repeat)),
    ]
    floor = figures[0][1][0]
    print(f"{args.files} files, median of {args.repeat} fresh-process runs, CPU ms per file, "
          f"collector {args.collector}")
    print(f"{'':50s} {'total':>8s} {'collector':>10s} {'vs floor':>9s}")
    for name, (total, collector) in figures:
        print(f"{name:50s} {total:6.2f}ms {collector:8.2f}ms {total / floor:8.2f}x")
    print(f"{'  the program walk + MD5 + key, in-process':50s} {walk_and_hash(args.files):6.2f}ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
