"""A stack's config, read as the program reads it, turned into what the simulation needs.

The HPA is the very manifest the program would apply (components/scaling/autoscaler.py `hpa_manifest`),
so a change to the autoscaler's policies changes the plan too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import settings
from components.capacity.node_pool import OVERFLOW_WAIT_SECONDS
from components.scaling.autoscaler import hpa_manifest
from components.stack import autoscaler_args
from config import Settings
from config.hpa import HpaSpec
from config.instance_types import CATALOG
from config.rules.capacity import pods_per_node
from config.rules.quantities import parse_quantity
from tools.offline import settings_of, stack_file_config
from tools.render import project_dir

from .simulate import CapacityModel


@dataclass(frozen=True)
class StackPlan:
    """One stack, ready to simulate."""

    name: str
    settings: Settings
    hpa: HpaSpec
    capacity: CapacityModel
    warnings: tuple[str, ...]


def read_settings(stack: str, stack_file: Optional[Path] = None) -> tuple[Settings, list[str]]:
    """`Pulumi.<stack>.yaml` validated by config/ under the mock engine. The planner does not read
    the model, so a stand-in SavedModel sits where `model.source` points (the model's own checks
    are `pulumi preview`'s business). Raises `ConfigError` as the program would."""
    with project_dir(stack_file_config(stack, stack_file), placeholder=True) as config:
        return settings_of(config, stack)


def hpa_of(s: Settings) -> HpaSpec:
    """The HPA the program would apply for this stack (components/stack.py `autoscaler_args`)."""
    return HpaSpec.from_manifest(hpa_manifest(autoscaler_args(s, s.serving.name, {}))["spec"])


def capacity_of(s: Settings) -> CapacityModel:
    """The capacity mode of a stack: the first listed instance type, as ECI tries and as the pool
    prefers them (the pool's cost-optimized choice among several types is not modelled)."""
    c = s.capacity
    first = c.instance_types[0]
    spec = CATALOG[first]  # config/ already refused a type without a catalog row
    gpus = s.serving.gpus
    warm = s.model.warmup.warm(s.model.served_version)
    if isinstance(c, settings.Eci):
        return CapacityModel(mode="eci", instance_type=first, pod_gpus=gpus, node_gpus=spec.gpus, pods_per_node=1,
                        image_cache="stack" if c.image_cache is not None else "none",
                        spot_share=1.0 if c.spot is not None else 0.0, warmup=warm)
    pool = c
    per_node = pods_per_node(spec, parse_quantity(s.serving.cpu), parse_quantity(s.serving.memory) / 2**30, gpus)
    return CapacityModel(mode="nodepool", instance_type=first, pod_gpus=gpus, node_gpus=spec.gpus,
                    pods_per_node=max(1, per_node), spot_share=1 - pool.on_demand_percentage / 100,
                    pool_min=pool.min_size, pool_max=pool.max_size, eci_overflow=pool.eci_overflow is not None,
                    image_cache="stack" if pool.eci_overflow is not None else "none",
                    overflow_wait=OVERFLOW_WAIT_SECONDS, warmup=warm)


def plan_of(stack: str, stack_file: Optional[Path] = None) -> StackPlan:
    """A stack by name (`Pulumi.<stack>.yaml` in the repository), or a stack file's path
    (`Pulumi.<name>.yaml` anywhere: a variant to compare without committing it)."""
    path = Path(stack)
    if stack_file is None and path.suffix in (".yaml", ".yml") and path.is_file():
        stack_file, stack = path, path.stem.removeprefix("Pulumi.")
    resolved, warnings = read_settings(stack, stack_file)
    return StackPlan(stack, resolved, hpa_of(resolved), capacity_of(resolved), tuple(warnings))
