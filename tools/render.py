"""Render a stack offline: every Kubernetes manifest it would apply, and a plan of the cloud
resources, without a cloud account, credentials or the Pulumi CLI.

    python -m tools.render --stack dev --out build/render
    python -m tools.render --stack prod --out build/render --placeholder-model

Writes <out>/<stack>/kubernetes.yaml (multi-document, sorted by namespace, kind and name; keys in
the conventional order: apiVersion, kind, metadata with name and namespace first, spec, then the
rest alphabetically; multi-line strings such as the TF Serving model config as block scalars) and
<out>/<stack>/plan.json (every resource: type, name, parent, protect, dependencies, inputs; RAM
policy documents shown parsed, as indented JSON).
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
from pydantic import ValidationError

from config import ConfigError
from config.derived import parse_model_source
from config.schema import ModelSettings
from config.warmup import read_request, stand_in_graph
from settings import LOAD_TEST_PAYLOAD
from tools.offline import (
    PROJECT,
    ROOT,
    StackResult,
    map_secrets,
    reveal,
    run_program,
    stack_file_config,
    without_ciphertexts,
)

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


# The engine hands inputs over as protobuf Structs, whose key order means nothing. A reviewer reads
# the conventional order: what an object is, then its name, then its body; everything else
# alphabetically, so two renders and two objects line up.
FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "image",
              "command", "args", "spec", "type", "data", "stringData")
# Maps whose keys are the user's data, not fields: purely alphabetical.
DATA_MAPS = frozenset({"labels", "annotations", "matchLabels", "nodeSelector", "data", "stringData",
                       "volumeAttributes", "limits", "requests"})


def conventional_order(value: Any, parent: str = "") -> Any:
    """`value` with every mapping's keys in the conventional order (FIRST_KEYS, then A-Z)."""
    if isinstance(value, dict):
        if parent in DATA_MAPS:
            keys = sorted(value)
        else:
            keys = [k for k in FIRST_KEYS if k in value] + sorted(k for k in value if k not in FIRST_KEYS)
        return {k: conventional_order(value[k], k) for k in keys}
    if isinstance(value, list):
        return [conventional_order(item, parent) for item in value]
    return value


def manifest_for_review(inputs: dict[str, Any]) -> dict[str, Any]:
    """A Kubernetes object as a reviewer reads it: conventional key order; numbers plain; a
    Secret keeps its keys while every value is redacted (so the manifest stays valid)."""
    manifest = redact(inputs)
    if manifest.get("kind") == "Secret":
        plain = reveal(inputs)
        for field in ("data", "stringData"):
            if isinstance(plain.get(field), dict):
                manifest[field] = {key: REDACTED for key in plain[field]}
    return conventional_order(manifest)


class _ReviewDumper(yaml.SafeDumper):
    """Multi-line strings (the TF Serving model config, its monitoring config) as `|` blocks."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ReviewDumper.add_representer(str, _represent_str)


def inputs_for_review(inputs: dict[str, Any]) -> dict[str, Any]:
    """A cloud resource's inputs for the plan: redacted, and a JSON document held in a string
    (a RAM policy, a role's trust policy) parsed, so the plan shows it indented."""
    shown = redact(inputs)
    for key, value in shown.items():
        if key.endswith("Document") and isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                shown[key] = json.loads(value)
    return shown


# Where the stand-in SavedModel sits in its temporary working directory.
PLACEHOLDER_SOURCE = "placeholder-model"


@contextlib.contextmanager
def placeholder_model(config: dict[str, Any], project: str) -> Iterator[tuple[Optional[str], dict[str, Any]]]:
    """A working directory holding a stand-in SavedModel, and the config with `model.source`
    pointing at it; for reviewers without the (large) model: the object list in the plan is then
    illustrative. Only for a model section the schema accepts with a local source that parses:
    anything else stays as written, for the program to refuse by its key (no directory is made
    from a value nobody checked)."""
    key = f"{project}:model"
    try:
        model = ModelSettings.model_validate(config.get(key))
    except ValidationError:
        model = None
    if model is None or parse_model_source(model.source)[0] is None or model.source.startswith("oss://"):
        yield None, config
        return
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        for version in model.versions:
            write_placeholder_version(Path(tmp) / PLACEHOLDER_SOURCE / str(version))
        yield tmp, {**config, key: {**config[key], "source": PLACEHOLDER_SOURCE}}


def write_placeholder_version(vdir: Path) -> None:
    """A version directory with the files a SavedModel has, their contents stand-ins; its graph a
    serving signature the load test's payload fits, as the BERT export it stands for."""
    (vdir / "variables").mkdir(parents=True, exist_ok=True)
    (vdir / "saved_model.pb").write_bytes(stand_in_graph(read_request(LOAD_TEST_PAYLOAD)))
    (vdir / "variables" / "variables.index").write_bytes(b"placeholder")


@contextlib.contextmanager
def project_dir(config: dict[str, Any], placeholder: bool) -> Iterator[dict[str, Any]]:
    """Work from the repository root, or from a directory holding a placeholder SavedModel (see
    `placeholder_model`); yields the config to run; back to the previous directory afterwards."""
    cwd = os.getcwd()
    with placeholder_model(config, PROJECT) if placeholder else contextlib.nullcontext((None, config)) as (workdir,
                                                                                                           used):
        os.chdir(workdir if workdir is not None else ROOT)
        try:
            yield used
        finally:
            os.chdir(cwd)


def evaluate(stack: str, stack_file: Optional[Path] = None, placeholder: bool = False) -> StackResult:
    """Run the program for a stack file, as a preview (see `project_dir` for `placeholder`)."""
    with project_dir(stack_file_config(stack, stack_file), placeholder) as config:
        return run_program(config, stack=stack, preview=True)


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
        yaml.dump_all(manifests, Dumper=_ReviewDumper, sort_keys=False, default_flow_style=False,
                      allow_unicode=True, width=120),
        encoding="utf-8",
    )
    by_urn = {r.urn: r.name for r in result.resources}
    config, _ = without_ciphertexts(stack_file_config(stack, stack_file))
    plan = {
        "stack": stack,
        "modelFiles": "placeholder" if placeholder else "from model.source",
        # The stack's config as the program read it; a value set with --secret shows as "[secret]".
        "config": redact(config),
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
                "inputs": inputs_for_review(r.inputs),
            }
            for r in sorted(result.resources, key=lambda r: (r.type, r.name))
        ],
    }
    (target / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return target


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m tools.render", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "render", help="output directory")
    parser.add_argument("--stack-file", type=Path, help="render this stack file instead")
    parser.add_argument("--placeholder-model", action="store_true",
                        help="stand in for a SavedModel that is not on this machine")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)

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
