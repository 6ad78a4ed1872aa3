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
    run_program,
    stack_file_config,
)


def run_expecting_error(config: dict[str, Any], stack: str = "dev", preview: bool = False,
                        secret_keys: Optional[list[str]] = None):
    """Run the program, expect it to fail; return the error and what got registered anyway."""
    result = StackResult()
    try:
        run_program(config, stack=stack, preview=preview, result=result, secret_keys=secret_keys)
    except Exception as exc:  # noqa: BLE001 - the test inspects the type
        return exc, result
    raise AssertionError("the program ran without error")
