"""Test helpers on top of the offline evaluator in tools/offline.py."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Optional

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils

from tools.offline import (  # noqa: F401 - re-exported for the tests
    FAKE_ACCESS_KEY_SECRET,
    FAKE_ACCOUNT_ID,
    FAKE_KUBECONFIG,
    PROJECT,
    ROOT,
    SECRET_SIG,
    Registration,
    StackResult,
    reveal,
    run_main,
    run_program,
    stack_file_config,
)

# kubernetes-validate reads its schema files from disk for every manifest it checks, the 5 MB
# `_definitions.json` of the version included (kubernetes_validate/utils.py validate ->
# schema_contents); the files never change during a run, and the validator does not modify what it
# reads, so each is read once.
kubernetes_validate.utils.schema_contents = cache(kubernetes_validate.utils.schema_contents)

NS = PROJECT + ":"
"""The project's config namespace: every key of ours in a stack's config is `NS + key`."""
# Kubernetes minor versions an ACK cluster can run in late 2026 (ACK supports each minor for
# a year since 1.31 and creates clusters on the three newest), plus the next one ACK is
# rolling out, so an upgrade does not break the manifests.
ACK_VERSIONS = ["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"]
# The shipped stacks in update and preview mode: the `rendered` fixture's keys.
RUNS = [("dev", False), ("dev", True), ("prod", False), ("prod", True)]
RUN_IDS = ["dev-update", "dev-preview", "prod-update", "prod-preview"]


def run_expecting_error(config: dict[str, Any], stack: str = "dev", preview: bool = False,
                        secret_keys: Optional[list[str]] = None):
    """Run the program, expect it to fail; return the error and what got registered anyway."""
    result = StackResult()
    try:
        run_program(config, stack=stack, preview=preview, result=result, secret_keys=secret_keys)
    except Exception as exc:  # noqa: BLE001 - the test inspects the type
        return exc, result
    raise AssertionError("the program ran without error")


# Custom resources kubernetes-validate has no schema for, each transcribed from its API type
# (the file's $comment cites it).
CUSTOM_SCHEMAS = {("scheduling.alibabacloud.com/v1alpha1", "ResourcePolicy"): "resourcepolicy-scheduling-v1alpha1.json"}


@cache
def custom_schema(name: str) -> dict:
    return json.loads((Path(__file__).parent / "schemas" / name).read_text())


def validate_strictly(manifest: dict, version: str) -> None:
    """A manifest against Kubernetes `version`'s strict schema, or a custom resource against its
    transcribed one. Raises kubernetes_validate.ValidationError or jsonschema.ValidationError."""
    custom = CUSTOM_SCHEMAS.get((manifest.get("apiVersion"), manifest.get("kind")))
    if custom is not None:
        jsonschema.validate(manifest, custom_schema(custom), cls=jsonschema.Draft202012Validator)
        return
    kubernetes_validate.validate(manifest, version, strict=True)


def depends(result: StackResult, a: Registration, b: Registration) -> bool:
    """a (transitively) depends on b, so destroy deletes a before b."""
    graph = {r.urn: set(r.dependencies) for r in result.resources}
    seen, todo = set(), [a.urn]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep == b.urn:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False
