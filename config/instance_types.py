"""What the cross-checks need to know about GPU instance types: the GPU of each family, and the
vCPUs, memory and GPU count of each type.

Every row says where it comes from; nothing here is filled in from memory. A type whose size is
not listed is rejected by name with a pointer to this file (add a row, with its source, rather
than let a capacity check pass on a guess). A family's GPU is known apart from its sizes, so the
GPU/image check can still name the GPU of a type whose size is missing.

Sources:
- FAMILY_DOC: Alibaba Cloud ECS, "GPU-accelerated compute optimized instance types" (the instance
  type tables of gn6i, gn6v, gn5 and gn5i; copy in AlibabaCloudDocs/ecs, intl.en-US), and the
  Chinese edition of the same page for ecs.gn6i-c40g1.10xlarge, which the English copy predates.
- NAMING_DOC: https://help.aliyun.com/zh/ecs/user-guide/instance-specification-naming-and-classification
  ("7i: Ampere, A10 with 24 GB"): the GPU of gn7i.
- GN7I_DOC: the current edition of the same ECS page (alibabacloud.com/help/en/ecs, "Instance
  families", GPU-accelerated compute-optimized), section "gn7i, GPU-accelerated compute-optimized
  instance family", read 2026-12: "Uses NVIDIA A10 GPUs", twelve types (its Chinese edition
  agrees; the 2021 copy in AlibabaCloudDocs/ecs at 6094025961 listed six, with a c80g1.20xlarge
  since withdrawn).
- CUDA_GPUS: https://developer.nvidia.com/cuda-gpus and https://developer.nvidia.com/cuda-legacy-gpus
  (compute capability of each GPU model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

FAMILY_DOC = "ECS docs, GPU-accelerated compute optimized instance types"
NAMING_DOC = "https://help.aliyun.com/zh/ecs/user-guide/instance-specification-naming-and-classification"
CUDA_GPUS = "https://developer.nvidia.com/cuda-gpus"
GN7I_DOC = "ECS docs, GPU-accelerated compute optimized instance families, gn7i (2026-12)"


@dataclass(frozen=True)
class Gpu:
    """An NVIDIA GPU model and its compute capability (major, minor)."""

    model: str
    compute_capability: tuple[int, int]

    @property
    def cc(self) -> str:
        """`7.5`: the compute capability as NVIDIA writes it."""
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"


# Compute capability per model (CUDA_GPUS; P100, P4 and V100 on the legacy page).
P4 = Gpu("Tesla P4", (6, 1))
P100 = Gpu("Tesla P100", (6, 0))
V100 = Gpu("V100", (7, 0))
T4 = Gpu("T4", (7, 5))
A10 = Gpu("A10", (8, 6))

# The GPU of each instance family, and the document that says so.
FAMILIES: dict[str, tuple[Gpu, str]] = {
    "gn5i": (P4, FAMILY_DOC),
    "gn5": (P100, FAMILY_DOC),
    "gn6i": (T4, FAMILY_DOC),
    "gn6v": (V100, FAMILY_DOC),
    "gn7i": (A10, NAMING_DOC),
}

# The GPU-accelerated families ECI creates instances of (vGPU families left out: a pod asks for
# whole GPUs). ECI docs, "Create a GPU-accelerated ECI pod", table of supported instance types
# (https://help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-specification);
# gn8ia and gn8is only in some regions outside China, on request to sales.
ECI_GPU_DOC = "https://help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-specification"
ECI_GPU_FAMILIES = frozenset({"gn7e", "gn7i", "gn7s", "gn7", "gn6v", "gn6e", "gn6i", "gn5i", "gn5", "gn8ia", "gn8is"})


@dataclass(frozen=True)
class InstanceType:
    """Capacity of one ECS instance type, as its family's table lists it."""

    vcpus: int
    memory_gib: float
    gpus: int
    source: str = FAMILY_DOC


CATALOG: dict[str, InstanceType] = {
    "ecs.gn5i-c2g1.large": InstanceType(2, 8, 1),
    "ecs.gn5i-c4g1.xlarge": InstanceType(4, 16, 1),
    "ecs.gn5i-c8g1.2xlarge": InstanceType(8, 32, 1),
    "ecs.gn5i-c16g1.4xlarge": InstanceType(16, 64, 1),
    "ecs.gn5-c4g1.xlarge": InstanceType(4, 30, 1),
    "ecs.gn5-c8g1.2xlarge": InstanceType(8, 60, 1),
    "ecs.gn5-c4g1.2xlarge": InstanceType(8, 60, 2),
    "ecs.gn6i-c4g1.xlarge": InstanceType(4, 15, 1),
    "ecs.gn6i-c8g1.2xlarge": InstanceType(8, 31, 1),
    "ecs.gn6i-c16g1.4xlarge": InstanceType(16, 62, 1),
    "ecs.gn6i-c24g1.6xlarge": InstanceType(24, 93, 1),
    "ecs.gn6i-c40g1.10xlarge": InstanceType(40, 155, 1),
    "ecs.gn6i-c24g1.12xlarge": InstanceType(48, 186, 2),
    "ecs.gn6i-c24g1.24xlarge": InstanceType(96, 372, 4),
    "ecs.gn6v-c8g1.2xlarge": InstanceType(8, 32, 1),
    "ecs.gn6v-c8g1.8xlarge": InstanceType(32, 128, 4),
    "ecs.gn6v-c8g1.16xlarge": InstanceType(64, 256, 8),
    "ecs.gn6v-c10g1.20xlarge": InstanceType(82, 336, 8),
    **{name: InstanceType(vcpus, memory, gpus, GN7I_DOC) for name, vcpus, memory, gpus in (
        ("ecs.gn7i-c8g1.2xlarge", 8, 30, 1), ("ecs.gn7i-c16g1.4xlarge", 16, 60, 1),
        ("ecs.gn7i-c32g1.8xlarge", 32, 188, 1), ("ecs.gn7i-c48g1.12xlarge", 48, 310, 1),
        ("ecs.gn7i-c56g1.14xlarge", 56, 346, 1), ("ecs.gn7i-c32g1.16xlarge", 64, 376, 2),
        ("ecs.gn7i-c32g1.32xlarge", 128, 752, 4), ("ecs.gn7i-2x.8xlarge", 32, 128, 2),
        ("ecs.gn7i-4x.8xlarge", 32, 128, 4), ("ecs.gn7i-4x.16xlarge", 64, 256, 4),
        ("ecs.gn7i-8x.32xlarge", 128, 512, 8), ("ecs.gn7i-8x.16xlarge", 64, 256, 8))},
}


def family(instance_type: str) -> str:
    """`ecs.gn6i-c4g1.xlarge` -> `gn6i`."""
    return instance_type.split(".", 2)[1].split("-", 1)[0]


def gpu_of(instance_type: str) -> Optional[Gpu]:
    """The GPU of the type's family, or None for a family this project does not know."""
    known = FAMILIES.get(family(instance_type))
    return known[0] if known else None


def node_allocatable(t: InstanceType) -> tuple[float, float]:
    """(vCPUs, GiB) left for pods on a node of this type: a conservative estimate of what the
    kubelet reservation and the system DaemonSets (CSI, logging, GPU device plugin) take."""
    return t.vcpus - max(0.2, 0.06 * t.vcpus), t.memory_gib * 0.9 - 0.5
