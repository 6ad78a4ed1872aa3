"""The URN of every resource a stack registers, one per line, sorted.

    python -m tools.urns --stack prod                  # print
    python -m tools.urns --stack prod --write          # update tests/golden/urns.prod.txt

A URN is a promise to every stack that exists: `pulumi up` deletes and recreates a resource
whose URN changed (its type token, name or parent), the bucket and the node pool included.
tests/test_urns.py compares each stack with its golden list, evaluated with the placeholder
model (saved_model.pb and variables/variables.index of each version), so a change to a URN is
seen and reviewed in the diff of the golden file, together with the alias that keeps existing
stacks in place.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from tools.offline import ROOT
from tools.render import evaluate

GOLDEN = ROOT / "tests" / "golden"


def urns(stack: str, stack_file: Optional[Path] = None) -> list[str]:
    """Sorted URNs the stack registers (components and resources; not the stack itself)."""
    return sorted(r.urn for r in evaluate(stack, stack_file, placeholder=True).resources)


def golden_file(stack: str) -> Path:
    return GOLDEN / f"urns.{stack}.txt"


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m tools.urns", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--write", action="store_true", help="write tests/golden/urns.<stack>.txt")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    text = "".join(f"{urn}\n" for urn in urns(args.stack))
    if args.write:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden_file(args.stack).write_text(text, encoding="utf-8")
        print(f"wrote {golden_file(args.stack)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
