"""Validation errors in the user's words: one `(dotted key, message)` problem per mistake.

pydantic reports where each error is (`('autoscaling', 'maxReplica')`) in the schema's terms;
this turns it into the camelCase dotted path the user wrote in the stack file and a sentence that
says what is allowed there, never a class name or a regex.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from pathlib import Path
from typing import Any, Optional

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .errors import Problem
from .schema import ControlText, StackConfig

# pydantic's own labels for the branch of a union or a validator, which are not keys.
_INTERNAL_LOCATIONS = ("int", "float", "str", "list[str]", "bool", "[key]")


class _Redacted:
    def __repr__(self) -> str:
        return "[secret]"


def short(value: Any) -> str:
    """A value as a message shows it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def os_problem(path: Path, exc: OSError) -> str:
    """Why the file system would not read `path` (a name too long, a directory that may not be
    read...), in words, with the path cut short."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    longest = max((len(p) for p in path.parts), default=0)
    return (f"{str(path)[:60]!r}{'...' if len(str(path)) > 60 else ''} cannot be read: {reason}"
            + (f" (a path of {len(str(path))} characters, its longest part {longest})"
               if exc.errno == errno.ENAMETOOLONG else ""))


def home_path(value: str) -> str:
    """What a path starting with `~` gets: nothing expands it."""
    return (f"{short(value)} starts with '~', which is not expanded (no shell reads it): write the full path, "
            "or one relative to the project directory")


def camel_path(loc: tuple) -> str:
    """`('autoscaling', 'maxReplicas')` -> `autoscaling.maxReplicas`; list indexes as `[0]`."""
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


def yaml_typed(kind: str, value: Any) -> Optional[str]:
    """What YAML made of a value the user wrote as something else, and how to write it."""
    if kind == "string_type" and isinstance(value, bool):
        return (f"YAML read it as {str(value).lower()} (yes/no/on/off/true/false are booleans): quote it, "
                "e.g. \"on\"")
    if kind == "string_type" and isinstance(value, (int, float)):
        return f"YAML read {value!r} as a number: quote it (\"{value}\"), or a trailing zero is lost"
    if kind in ("int_type", "float_type") and isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
        return f"it is written in quotes, so YAML read {value!r} as text: write it without quotes"
    return None


def control_text_message(value: ControlText) -> str:
    """A value with a line break or a control character in it, said where it is."""
    text = value.text
    if text.endswith("\n") and not re.search(r"[\x00-\x1f\x7f]", text[:-1]):
        return (f"{short(text)} ends with a line break (a YAML block scalar `|` keeps the line's end): write the "
                "value on one line, or use `|-`")
    where = next(i for i, ch in enumerate(text) if ord(ch) < 32 or ord(ch) == 127)
    return (f"{short(text)} holds a control character (U+{ord(text[where]):04X}, at position {where}); no key of "
            "this stack takes one: write the value on one line, in plain characters")


def percent_hint(loc: tuple, value: Any) -> Optional[str]:
    """A fraction written where a percent (0-100) is meant: `onDemandPercentage: 0.3`."""
    if not isinstance(value, float) or not 0 < value < 1:
        return None
    field = field_at(loc)
    high = next((m.le for m in field.metadata if isinstance(m, annotated_types.Le)), None) if field else None
    if high != 100:
        return None
    return f"it is a percent, 0-100: did you mean {value * 100:g}?"


def field_at(loc: tuple) -> Optional[FieldInfo]:
    """The schema field at `loc`, or None."""
    owner = section_at(loc)
    key = next((p for p in reversed(loc) if isinstance(p, str)), None)
    if owner is None or key is None:
        return None
    return next((f for n, f in owner.model_fields.items() if (f.alias or n) == key), None)


def section_message(kind: str, value: Any) -> Optional[str]:
    """A section (a mapping of keys) given as something else: never pydantic's class names."""
    if kind not in ("model_type", "dict_type"):
        return None
    if value is None or value == "":
        return "is an empty section (nothing is written under it): write its keys beneath it, or remove the line"
    return f"must be a section of keys, one per line beneath it (got {short(value)})"


def format_validation_error(exc: ValidationError, secret: frozenset[str] = frozenset()) -> list[Problem]:
    """One `(dotted key, message)` per pydantic error, in the user's camelCase and in words.

    Values under a key in `secret` are shown as [secret], never in plain text.
    """
    problems = []
    sections = allowed_keys(StackConfig)
    for err in exc.errors():
        loc = tuple(err["loc"])
        redacted = bool(loc) and loc[0] in secret
        if redacted:
            err = {**err, "input": _Redacted()}
        # Drop pydantic's internal union/validator labels from the location.
        loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "constrained-")))
        loc = tuple(p for p in loc if p not in _INTERNAL_LOCATIONS)
        path = camel_path(loc) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden" and len(loc) == 1 and "." in str(loc[0]) and str(loc[0]).split(".")[0] in sections:
            dotted = str(loc[0])
            message = (f"is one top-level key whose name has dots: `pulumi config set` without --path writes "
                       f"'{dotted}' that way; run `pulumi config rm '{dotted}'`, then "
                       f"`pulumi config set --path '{dotted}' <value>`")
        elif kind == "extra_forbidden":
            section = section_at(loc)
            allowed = allowed_keys(section) if section else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            message = "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed:
                message += f"; allowed here: {', '.join(allowed)}"
        elif kind == "missing":
            message = "is required and not set"
        elif isinstance(err["input"], ControlText):
            message = control_text_message(err["input"])
        elif err["input"] is None and section_message(kind, None) is None:
            message = ("is empty (nothing is written after it): write a value, or remove the line to take the "
                       "default")
        elif section_message(kind, err["input"]) is not None:
            message = section_message(kind, err["input"]) or ""
        else:
            text = err["msg"]
            text = text.removeprefix("Value error, ")
            message = f"{text[0].lower()}{text[1:]} (got {short(err['input'])})"
            hint = None if redacted else (yaml_typed(kind, err["input"]) or percent_hint(loc, err["input"]))
            message += f": {hint}" if hint else ""
        problems.append((path, message))
    # A union reports the same location once per branch; keep the first of each.
    seen, unique = set(), []
    for problem in problems:
        if problem[0] not in seen:
            seen.add(problem[0])
            unique.append(problem)
    return unique
