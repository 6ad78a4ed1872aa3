"""A pytest plugin for mutmut's runs only (`-p tools.mutmut_fixtures` in pyproject.toml's
[tool.mutmut] pytest_add_cli_args): credit a session fixture's work to every test that uses it.

mutmut learns which tests to run against a mutant from a first run of the suite in which each call
of a function is credited to the test running at that moment (mutmut/runners/harness.py,
StatsCollector). A session-scoped fixture runs once, inside the first test that asks for it, so
the program that tests/conftest.py's `rendered` runs (both stacks, in update and preview mode)
was credited to that one test, and the tests that only read its result were never run against a
mutant of the program: `test_every_object_goes_through_the_cluster_provider_into_the_namespace`
kills a ModelVolume given no options, and mutmut did not run it. This records the functions each
session fixture's setup calls and credits them to every test that uses the fixture. Outside
mutmut's recording run (its MUTANT_UNDER_TEST is "stats") it does nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

CALLED_BY_FIXTURE: dict[str, set[str]] = {}
"""Session fixture name -> the mutated functions its setup called (mutmut's mangled names)."""


def recorded_calls() -> Any:
    """mutmut's set of the functions called in the current test, while it records; else None."""
    state = sys.modules.get("mutmut.state")  # loaded by the mutated code's trampolines
    if state is None or os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    return state.state()._stats


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None]:
    calls = recorded_calls()
    if calls is None or fixturedef.scope != "session":
        yield
        return
    before = set(calls)
    calls.clear()
    try:
        yield
    finally:
        CALLED_BY_FIXTURE[fixturedef.argname] = set(calls)
        calls.update(before)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    calls = recorded_calls()
    if calls is not None:
        for name in getattr(item, "fixturenames", ()):
            calls.update(CALLED_BY_FIXTURE.get(name, ()))
