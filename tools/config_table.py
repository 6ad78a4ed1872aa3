"""The README's configuration table, generated from the config schema.

    python -m tools.config_table            # print the table
    python -m tools.config_table --write    # replace the table in README.md

Each key is described once: its meaning is the field's docstring in `config/schema.py`, its
default the field's default (or, for a scalar key, its `default` in Pulumi.yaml, which the
loader reads), its type and allowed values the field's annotation. A test compares the README's
table with this output, and Pulumi.yaml's descriptions with the docstrings.
"""

from __future__ import annotations

import argparse
import re
import sys
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from config.loader import load_project_schema
from config.schema import DerivedDefault, Shown, StackConfig

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- config-table:begin -->", "<!-- config-table:end -->"
# The provider's key, read by the loader (config/loader.py read_region) but not ours to schema.
PROVIDER_ROWS = [("alicloud:region", "string", "(required; or `ALICLOUD_REGION`)",
                  "Region of the cluster and the bucket (the alicloud provider's own key).")]


@dataclass(frozen=True)
class Leaf:
    """One key of the stack config that holds a value (not a section)."""

    path: str
    """Dotted camelCase key, e.g. capacity.nodePool.maxSize."""
    field: FieldInfo


def leaves(model: type[BaseModel], prefix: str = "") -> Iterator[Leaf]:
    """Every value key under `model`, in declaration order."""
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        section = _section(_unwrap(field.annotation, [])[0])
        if section is None:
            yield Leaf(path, field)
            continue
        if not field.is_required() and field.default is None:
            yield Leaf(path, field)  # an optional section: the key itself, then its keys
        yield from leaves(section, path + ".")


def _section(annotation: Any) -> Optional[type[BaseModel]]:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _unwrap(annotation: Any, metadata: Sequence[Any]) -> tuple[Any, list[Any]]:
    """Strip Optional and Annotated layers, collecting their metadata."""
    collected = list(metadata)
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            for item in extra:
                collected += item.metadata if isinstance(item, FieldInfo) else [item]
        elif origin is typing.Union:
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else annotation
            if len(options) != 1:
                return annotation, collected
        else:
            return annotation, collected


def _first(items: Sequence[Any], kind: type) -> Any:
    return next((i for i in items if isinstance(i, kind)), None)


def _range(metadata: Sequence[Any], number: str) -> str:
    low = _first(metadata, annotated_types.Ge) or _first(metadata, annotated_types.Gt)
    high = _first(metadata, annotated_types.Le) or _first(metadata, annotated_types.Lt)
    if isinstance(low, annotated_types.Ge) and isinstance(high, annotated_types.Le):
        return f"{low.ge}-{high.le}"
    bounds = []
    if low is not None:
        bounds.append(f"> {low.gt}" if isinstance(low, annotated_types.Gt) else f">= {low.ge}")
    if high is not None:
        bounds.append(f"< {high.lt}" if isinstance(high, annotated_types.Lt) else f"<= {high.le}")
    return number + (" " + ", ".join(bounds) if bounds else "")


def type_text(field: FieldInfo) -> str:
    """What the table shows as a key's type and allowed values."""
    annotation, metadata = _unwrap(field.annotation, field.metadata)
    shown = _first(metadata, Shown)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        inner = type_text(FieldInfo(annotation=item))
        low, high = _first(metadata, annotated_types.MinLen), _first(metadata, annotated_types.MaxLen)
        size = (f" ({low.min_length}-{high.max_length})" if low and high
                else f" ({low.min_length} or more)" if low else "")
        return f"{inner} list{size}"
    if shown is not None:
        return shown.kind
    if _section(annotation) is not None:
        return "object"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return _range(metadata, "integer")
    if annotation is float:
        return _range(metadata, "number")
    if annotation is str:
        return "string"
    raise TypeError(f"no table text for {annotation!r}: mark it with schema.Shown")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    if isinstance(value, str) and re.fullmatch(r"[0-9.]+", value):
        return f'"{value}"'  # YAML would read it as a number
    return str(value)


def default_text(leaf: Leaf, declared: dict[str, dict[str, Any]]) -> str:
    """A key's default as the table shows it: a value, a derived default, or (required)."""
    _, metadata = _unwrap(leaf.field.annotation, leaf.field.metadata)
    derived = _first(metadata, DerivedDefault)
    if derived is not None:
        return derived.text
    if leaf.field.is_required():
        scalar = declared.get(leaf.path, {})
        return f"`{_value(scalar['default'])}`" if "default" in scalar else "(required)"
    return f"`{_value(leaf.field.default)}`"


def description(leaf: Leaf) -> str:
    if not leaf.field.description:
        raise ValueError(f"{leaf.path} has no docstring in config/schema.py: document it there")
    return " ".join(leaf.field.description.split())


def rows() -> list[tuple[str, str, str, str]]:
    declared = load_project_schema()
    found = [(leaf.path, type_text(leaf.field), default_text(leaf, declared), description(leaf))
             for leaf in leaves(StackConfig)]
    return PROVIDER_ROWS + found


def table() -> str:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{key}` | {kind} | {default} | {meaning} |" for key, kind, default, meaning in rows()]
    return "\n".join(lines) + "\n"


def readme_table(text: str) -> str:
    """The table between the README's markers."""
    try:
        start = text.index(BEGIN) + len(BEGIN) + 1
        return text[start:text.index(END, start)]
    except ValueError:
        raise ValueError(f"README.md has no {BEGIN} ... {END} block") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m tools.config_table", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.write:
        sys.stdout.write(table())
        return 0
    text = README.read_text(encoding="utf-8")
    README.write_text(text.replace(readme_table(text), table()), encoding="utf-8")
    print(f"wrote the configuration table to {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
