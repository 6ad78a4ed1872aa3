"""How a rule declares what it reads, and how it is run with only that (config/rules/__init__.py)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
Check = Callable[..., list[T]]


def reads(check: Callable[..., Any]) -> tuple[str, ...]:
    """The config a check declares: its parameters' names."""
    return tuple(inspect.signature(check).parameters)


def rule(check: Check[T]) -> Check[T]:
    """Mark a function as a rule: it returns the problems of the config it declares."""
    check.is_rule = True  # type: ignore[attr-defined]
    return check


def warning(check: Check[T]) -> Check[T]:
    """Mark a function as a warning: it returns what a valid config it declares should be told."""
    check.is_warning = True  # type: ignore[attr-defined]
    return check


def run(checks: Iterable[Check[T]], given: Mapping[str, Any]) -> list[T]:
    """Every check whose declared config is all in `given`, called with just that."""
    found: list[T] = []
    for check in checks:
        names = reads(check)
        if all(name in given for name in names):
            found += check(**{name: given[name] for name in names})
    return found
