"""What the cross-checks need to know about GPU instance types: vCPUs, memory and GPUs.

Figures from the Alibaba Cloud ECS instance family pages (GPU-accelerated families). A type
that is not listed here is rejected by name, with a pointer to this file: add a line rather
than let a capacity check pass on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceType:
    """Capacity of one ECS instance type."""

    vcpus: int
    memory_gib: float
    gpus: int
    gpu: str


CATALOG: dict[str, InstanceType] = {
    # gn5i: NVIDIA P4
    "ecs.gn5i-c2g1.large": InstanceType(2, 8, 1, "P4"),
    "ecs.gn5i-c4g1.xlarge": InstanceType(4, 16, 1, "P4"),
    "ecs.gn5i-c8g1.2xlarge": InstanceType(8, 32, 1, "P4"),
    "ecs.gn5i-c16g1.4xlarge": InstanceType(16, 64, 1, "P4"),
    # gn5: NVIDIA P100
    "ecs.gn5-c4g1.xlarge": InstanceType(4, 30, 1, "P100"),
    "ecs.gn5-c8g1.2xlarge": InstanceType(8, 60, 1, "P100"),
    "ecs.gn5-c4g1.2xlarge": InstanceType(8, 60, 2, "P100"),
    # gn6i: NVIDIA T4
    "ecs.gn6i-c4g1.xlarge": InstanceType(4, 15, 1, "T4"),
    "ecs.gn6i-c8g1.2xlarge": InstanceType(8, 31, 1, "T4"),
    "ecs.gn6i-c16g1.4xlarge": InstanceType(16, 62, 1, "T4"),
    "ecs.gn6i-c24g1.6xlarge": InstanceType(24, 93, 1, "T4"),
    "ecs.gn6i-c40g1.10xlarge": InstanceType(40, 155, 1, "T4"),
    "ecs.gn6i-c24g1.12xlarge": InstanceType(48, 186, 2, "T4"),
    "ecs.gn6i-c24g1.24xlarge": InstanceType(96, 372, 4, "T4"),
    # gn6v: NVIDIA V100
    "ecs.gn6v-c8g1.2xlarge": InstanceType(8, 32, 1, "V100"),
    "ecs.gn6v-c8g1.8xlarge": InstanceType(32, 128, 4, "V100"),
    "ecs.gn6v-c8g1.16xlarge": InstanceType(64, 256, 8, "V100"),
    "ecs.gn6v-c10g1.20xlarge": InstanceType(82, 336, 8, "V100"),
    # gn7i: NVIDIA A10
    "ecs.gn7i-c8g1.2xlarge": InstanceType(8, 30, 1, "A10"),
    "ecs.gn7i-c16g1.4xlarge": InstanceType(16, 60, 1, "A10"),
    "ecs.gn7i-c32g1.8xlarge": InstanceType(32, 188, 1, "A10"),
    "ecs.gn7i-c48g1.12xlarge": InstanceType(48, 310, 1, "A10"),
    "ecs.gn7i-c56g1.14xlarge": InstanceType(56, 346, 1, "A10"),
    "ecs.gn7i-c32g1.16xlarge": InstanceType(64, 376, 2, "A10"),
    "ecs.gn7i-c32g1.32xlarge": InstanceType(128, 752, 4, "A10"),
}


def node_allocatable(t: InstanceType) -> tuple[float, float]:
    """(vCPUs, GiB) left for pods on a node of this type: a conservative estimate of what the
    kubelet reservation and the system DaemonSets (CSI, logging, GPU device plugin) take."""
    return t.vcpus - max(0.2, 0.06 * t.vcpus), t.memory_gib * 0.9 - 0.5
