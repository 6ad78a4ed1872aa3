"""Rules that span several keys or look at the disk, each handed only the config it declares.

A rule (or a warning) is a function whose parameters are named after top-level config keys
(`model`, `capacity`, `serving`, ...), each annotated with that key's schema type, or after a
value derived from one (`source`: the parsed `model.source`). `check.run` calls it with exactly
those values, and only when each of them passed the schema: a rule cannot read a section it did
not declare, nor one the schema refused, so a partly wrong config reports every independent
problem and nothing crashes on a section that is not there. tests/test_front_door.py holds the
signatures to the schema and runs every rule on generated, partly valid configs.

Topics: the model and its names (`model.py`), the warmup request (`warmup.py`), quantities
(`quantities.py`), capacity (`capacity.py`), the GPU and its image (`gpu.py`), batching
(`batching.py`), the HPA's bounds and the idle schedule (`scaling.py`), the endpoint and the
network (`endpoint.py`), where images come from (`registry.py`). A rule returns
`(dotted key, message)` problems instead of raising, so every problem is reported at once; a
warning returns what a valid config should be told, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import batching, capacity, endpoint, gpu, model, quantities, registry, scaling, warmup
from .check import reads, run

TOPICS = (model, warmup, quantities, capacity, gpu, batching, scaling, endpoint, registry)
# Values a check may ask for that are derived from a section, with the section they come from.
DERIVED = {"source": "model", "region": "alicloud:region"}


def _marked(mark: str) -> tuple[Callable[..., list[Any]], ...]:
    return tuple(f for topic in TOPICS for f in vars(topic).values()
                 if getattr(f, mark, False) and getattr(f, "__module__", None) == topic.__name__)


def rules() -> tuple[Callable[..., list[Any]], ...]:
    """Every rule of every topic."""
    return _marked("is_rule")


def warnings() -> tuple[Callable[..., list[Any]], ...]:
    """Every warning of every topic."""
    return _marked("is_warning")


__all__ = ["DERIVED", "TOPICS", "reads", "rules", "run", "warnings"]
