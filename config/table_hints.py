"""What the README's configuration table shows for a key, beyond its type and default.

The schema marks its fields with these (`Annotated[..., Shown("quantity")]`);
tools/config_table.py reads them. They change nothing that is validated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """What the table calls a value of this type (a quantity, a label map, a cron schedule)."""

    kind: str


@dataclass(frozen=True)
class DerivedDefault:
    """The table's default for a key whose default is derived from other values, or that is
    required only in some cases."""

    text: str
