"""Refuse `pulumi destroy` of a protected or unconfirmed stack (used by the destroy workflow).

    python3 tools/destroy_guard.py <stack> <confirmation>

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTECT = re.compile(r"^\s*elastic-inference:protect:\s*(\S+)", re.MULTILINE)


def check(stack: str, confirm: str, root: Path = ROOT) -> str:
    """'' when the stack may be destroyed, else why not."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack):
        return f"{stack!r} is not a stack name"
    if confirm != stack:
        return f"confirmation {confirm!r} does not match the stack name {stack!r}"
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        return f"{stack_file.name} does not exist"
    match = PROTECT.search(stack_file.read_text(encoding="utf-8"))
    if match and match.group(1).strip("'\"").lower() == "true":
        return (f"stack {stack!r} is protected (elastic-inference:protect: true in {stack_file.name}); "
                "set it to false in a reviewed pull request and deploy that first")
    return ""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    reason = check(argv[1], argv[2])
    if reason:
        print(f"::error::refusing to destroy: {reason}", file=sys.stderr)
        return 1
    print(f"stack {argv[1]!r} is not protected; destroying")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
