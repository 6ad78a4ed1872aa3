"""Kubernetes quantities, as the schema accepts them, and the ones no GPU server means."""

from __future__ import annotations

import re

from ..errors import Problem
from ..schema import ServingSettings
from .check import rule

_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
# The schema's QUANTITY rule (config/patterns.py), with its number and unit as groups.
_PARTS = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


def split_quantity(text: str) -> tuple[str, str]:
    """A quantity the schema accepted -> (number, unit), the unit '' when there is none."""
    match = _PARTS.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a quantity the schema accepts")
    return match.group(1), match.group(2) or ""


def parse_quantity(text: str) -> float:
    """A Kubernetes quantity (as the schema accepts it) as a number of base units."""
    number, unit = split_quantity(text)
    return float(number) * _UNITS[unit]


# A unit a reader can mean for a GPU server's memory or CPU, and what a bare number most likely meant.
_MEMORY_FLOOR_GIB = 1.0
_CPU_FLOOR = 0.5


@rule
def serving_quantities(serving: ServingSettings) -> list[Problem]:
    """A quantity no one can mean for a GPU server: memory below 1Gi (a bare number is bytes in
    Kubernetes: `memory: 12` asks for twelve bytes), memory in milli-bytes (`m`), CPU below half a
    core (`4m` is four thousandths) or in a byte unit; each says which unit was probably meant."""
    problems: list[Problem] = []
    memory, cpu = serving.memory, serving.cpu
    number, unit = split_quantity(memory)
    if unit == "m":
        problems.append(("serving.memory", f"{memory!r} is in thousandths of a byte ('m'); did you mean {number}Mi?"))
    elif parse_quantity(memory) < _MEMORY_FLOOR_GIB * 2**30:
        guess = f"; did you mean {number}Gi?" if not unit else ""
        what = "bytes (a number without a unit counts bytes)" if not unit else f"{parse_quantity(memory) / 2**20:g} MiB"
        problems.append(("serving.memory", f"{memory!r} is {what}: a GPU server needs at least 1Gi{guess}"))
    number, unit = split_quantity(cpu)
    if unit not in ("", "m"):
        problems.append(("serving.cpu", f"{cpu!r} has a byte unit ({unit}); CPU is counted in cores or "
                                        f"thousandths of one ('m'): did you mean {number}?"))
    elif parse_quantity(cpu) < _CPU_FLOOR:
        problems.append(("serving.cpu", f"{cpu!r} is {parse_quantity(cpu):g} of a core: a GPU server needs at least "
                                        f"half a core" + (f"; did you mean {number}?" if unit == "m" else "")))
    return problems
