"""Validation errors in the user's words: one `(dotted key, message)` problem per mistake.

pydantic reports where each error is (`('autoscaling', 'maxReplica')`) in the schema's terms;
this turns it into the camelCase dotted path the user wrote in the stack file and a sentence that
says what is allowed there, never a class name or a regex.
"""

from __future__ import annotations

import difflib
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from .errors import Problem
from .schema import StackConfig

# pydantic's own labels for the branch of a union or a validator, which are not keys.
_INTERNAL_LOCATIONS = ("int", "float", "str", "list[str]", "bool", "[key]")


class _Redacted:
    def __repr__(self) -> str:
        return "[secret]"


def short(value: Any) -> str:
    """A value as a message shows it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def camel_path(loc: tuple) -> str:
    """`('autoscaling', 'maxReplica')` -> `autoscaling.maxReplica`; list indexes as `[0]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The camelCase keys a section accepts, for 'unknown key' messages."""
    return [f.alias or name for name, f in model.model_fields.items()]


def section_at(loc: tuple) -> Optional[type[BaseModel]]:
    """The model class that owns the key at `loc` (for listing its allowed siblings)."""
    model: Optional[type[BaseModel]] = StackConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        # Unwrap Optional[...] to the section class.
        candidates = getattr(field.annotation, "__args__", (field.annotation,))
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model


def format_validation_error(exc: ValidationError, secret: frozenset[str] = frozenset()) -> list[Problem]:
    """One `(dotted key, message)` per pydantic error, in the user's camelCase and in words.

    Values under a key in `secret` are shown as [secret], never in plain text.
    """
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if loc and loc[0] in secret:
            err = {**err, "input": _Redacted()}
        # Drop pydantic's internal union/validator labels from the location.
        loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "constrained-")))
        loc = tuple(p for p in loc if p not in _INTERNAL_LOCATIONS)
        path = camel_path(loc) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            section = section_at(loc)
            allowed = allowed_keys(section) if section else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed:
                message += f"; allowed here: {', '.join(allowed)}"
        elif kind == "missing":
            message = "is required and not set"
        else:
            text = err["msg"]
            text = text.removeprefix("Value error, ")
            message = f"{text[0].lower()}{text[1:]} (got {short(err['input'])})"
        problems.append((path, message))
    # A union reports the same location once per branch; keep the first of each.
    seen, unique = set(), []
    for problem in problems:
        if problem[0] not in seen:
            seen.add(problem[0])
            unique.append(problem)
    return unique
