"""Render a stack offline: every Kubernetes manifest it would apply, and a plan of the cloud
resources, without a cloud account, credentials or the Pulumi CLI.

    python -m tools.render --stack dev --out build/render
    python -m tools.render --stack prod --out build/render --placeholder-model

Writes <out>/<stack>/kubernetes.yaml (multi-document, in registration order) and
<out>/<stack>/plan.json (every resource: type, name, parent, protect, dependencies, inputs).
Secret values are replaced by "[secret]". Exits 2 with the named-key message on bad config.

The program runs under Pulumi's mock engine: values that only the cloud knows (the kubeconfig,
the reader's access key, the account id, the cluster's other node pools) are stand-ins, so the
manifests are exactly what would be applied, while the plan's cloud look-ups are illustrative.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import yaml
from pulumi.runtime import rpc

from config import ConfigError
from tools.offline import PROJECT, ROOT, StackResult, map_secrets, reveal, run_program, stack_file_config

REDACTED = "[secret]"


def _review_leaf(value: Any) -> Any:
    """Unknowns become a marker; numbers travel as doubles on the wire, whole ones print as ints."""
    if value == rpc.UNKNOWN:
        return "[computed]"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def redact(value: Any) -> Any:
    """Replace secret wrappers (and unknowns) by markers: the render is meant to be shared."""
    return map_secrets(value, lambda _: REDACTED, _review_leaf)


FIRST_KEYS = ("apiVersion", "kind", "metadata")


def manifest_for_review(inputs: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes object as kubectl would show it: apiVersion, kind, metadata first; numbers
    plain; a Secret keeps its keys while every value is redacted (so the manifest stays valid)."""
    manifest = redact(inputs)
    if manifest.get("kind") == "Secret":
        plain = reveal(inputs)
        for field in ("data", "stringData"):
            if isinstance(plain.get(field), dict):
                manifest[field] = {key: REDACTED for key in plain[field]}
    ordered = {k: manifest[k] for k in FIRST_KEYS if k in manifest}
    ordered.update({k: v for k, v in manifest.items() if k not in FIRST_KEYS})
    return ordered


@contextlib.contextmanager
def placeholder_model(config: dict[str, Any], project: str) -> Iterator[Optional[str]]:
    """A working directory holding a stand-in SavedModel where `model.source` points.

    For reviewers without the (large) model: the object list in the plan is then illustrative.
    """
    model = config.get(f"{project}:model") or {}
    source = str(model.get("source", ""))
    if source.startswith("oss://") or not source:
        yield None
        return
    if os.path.isabs(source):
        raise SystemExit(f"--placeholder-model needs a relative model.source (got {source!r})")
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        for version in model.get("versions") or []:
            vdir = Path(tmp) / source / str(version)
            (vdir / "variables").mkdir(parents=True, exist_ok=True)
            (vdir / "saved_model.pb").write_bytes(b"placeholder")
            (vdir / "variables" / "variables.index").write_bytes(b"placeholder")
        yield tmp


def evaluate(stack: str, stack_file: Optional[Path] = None, placeholder: bool = False) -> StackResult:
    """Run the program for a stack file, as a preview, from the repository root (or from a
    directory holding a placeholder SavedModel where `model.source` points)."""
    config = stack_file_config(stack, stack_file)
    cwd = os.getcwd()
    with placeholder_model(config, PROJECT) if placeholder else contextlib.nullcontext(None) as workdir:
        os.chdir(workdir if workdir is not None else ROOT)
        try:
            return run_program(config, stack=stack, preview=True)
        finally:
            os.chdir(cwd)


def render(stack: str, out: Path, stack_file: Optional[Path] = None, placeholder: bool = False) -> Path:
    """Evaluate the stack and write its manifests and plan; return the stack's output dir. The
    program's warnings (what `pulumi preview` would show) go to stderr."""
    result = evaluate(stack, stack_file, placeholder)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    target = out / stack
    target.mkdir(parents=True, exist_ok=True)
    # Registration order follows async RPCs and differs between runs; a stable order makes two
    # renders diffable.
    manifests = sorted(
        (manifest_for_review(r.inputs) for r in result.kubernetes()),
        key=lambda m: (m["metadata"].get("namespace", ""), m["kind"], m["metadata"].get("name", "")),
    )
    (target / "kubernetes.yaml").write_text(
        yaml.safe_dump_all(manifests, sort_keys=False, default_flow_style=False), encoding="utf-8"
    )
    by_urn = {r.urn: r.name for r in result.resources}
    plan = {
        "stack": stack,
        "modelFiles": "placeholder" if placeholder else "from model.source",
        "outputs": redact(result.exports),
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "parent": by_urn.get(r.parent),
                "protect": r.protect,
                "retainOnDelete": r.retain_on_delete,
                "dependsOn": sorted(by_urn.get(d, d) for d in r.dependencies),
                "customTimeouts": r.custom_timeouts,
                "ignoreChanges": r.ignore_changes,
                "replaceOnChanges": r.replace_on_changes,
                "inputs": redact(r.inputs),
            }
            for r in sorted(result.resources, key=lambda r: (r.type, r.name))
        ],
    }
    (target / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return target


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "render", help="output directory")
    parser.add_argument("--stack-file", type=Path, help="render this stack file instead")
    parser.add_argument("--placeholder-model", action="store_true",
                        help="stand in for a SavedModel that is not on this machine")
    args = parser.parse_args(argv)

    try:
        target = render(args.stack, args.out, args.stack_file, args.placeholder_model)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such stack file", file=sys.stderr)
        return 2
    print(f"rendered {args.stack}: {target / 'kubernetes.yaml'}, {target / 'plan.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
