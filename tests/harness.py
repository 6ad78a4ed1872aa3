"""Test helpers on top of the offline evaluator in tools/offline.py."""

from __future__ import annotations

from typing import Any, Optional

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
