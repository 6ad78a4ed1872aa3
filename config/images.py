"""Whether a serving image can drive a GPU, and what it asks of the NVIDIA driver.

An image's CUDA kernels are compiled for a list of targets: `sm_XY` (machine code, SASS, for
compute capability X.Y) and `compute_XY` (PTX, which the driver compiles for the GPU at start-up).
NVIDIA's rules, applied by `fit`:

- SASS for X.Y runs on any GPU of the same major X with a minor >= Y, and on no other major
  (CUDA C++ Programming Guide, "Binary Compatibility"; Turing Compatibility Guide 1.3: "any
  binary that runs on Volta will be able to run on Turing"). Such a GPU runs natively.
- PTX for X.Y can be compiled by the driver for any GPU of compute capability >= X.Y ("PTX
  Compatibility"): the first start compiles every kernel, which TensorFlow warns "could take 30
  minutes or longer" (tensorflow/core/common_runtime/gpu/gpu_device.cc), and the result is only
  kept when the CUDA JIT cache is writable.
- An image whose CUDA release predates the GPU's architecture is not run here, even with PTX:
  its CUDA libraries (cuDNN, cuBLAS of that release) were not built for it, and that cannot be
  checked offline. First CUDA release per architecture:
  https://docs.nvidia.com/deploy/cuda-compatibility/ (Pascal 6.x: 8.0, Volta 7.0: 9.0,
  Turing 7.5: 10.0, Ampere 8.x: 11.0, Hopper 9.0: 11.8).

The builds of the tensorflow/serving GPU images come from their Dockerfile and .bazelrc at each
release tag (SERVING_IMAGES); any other image states its build in `serving.imageBuild`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional, Union

from .image_ref import image_reference
from .instance_types import Gpu

Version = tuple[int, int]


@dataclass(frozen=True)
class ImageBuild:
    """The CUDA release an image was built with, and the kernel targets it carries."""

    cuda: Version
    kernels: tuple[str, ...]
    """`sm_XY` (SASS) and `compute_XY` (PTX) targets."""
    source: str
    """Where this was read."""

    @property
    def cuda_text(self) -> str:
        return f"{self.cuda[0]}.{self.cuda[1]}"


_SERVING = "tensorflow/serving"
# tensorflow/serving 1.15.0 (748217e48b) tensorflow_serving/tools/docker/Dockerfile.devel-gpu
# L14, L112-113: nvidia/cuda:10.0, TF_CUDA_COMPUTE_CAPABILITIES=3.0,3.5,5.2,6.0,6.1,7.0. TF 1.15's
# nvcc wrapper emits `-gencode=arch=compute_XY,"code=sm_XY,compute_XY"` for each: SASS and PTX
# (tensorflow/tensorflow third_party/gpus/crosstool/clang/bin/
# crosstool_wrapper_driver_is_not_gcc.tpl at 0004ac98).
_TF1_CAPS = ("30", "35", "52", "60", "61", "70")
_SERVING_1_15 = ImageBuild((10, 0), tuple(k for cc in _TF1_CAPS for k in (f"sm_{cc}", f"compute_{cc}")),
                           "tensorflow/serving 1.15.0 (748217e48b) Dockerfile.devel-gpu L14, L112-113")
# .bazelrc `build:cuda` at 2.11.1 (3c50b8fd3c), 2.13.1 (ae482b9dd1), 2.14.1 (f8addc3218), L10.
_CUDA11_KERNELS = ("sm_35", "sm_50", "sm_60", "sm_70", "sm_75", "compute_80")
# .bazelrc `build:cuda_clang` (the config Dockerfile.devel-gpu builds with) at 2.15.1 (a0be2bf6eb),
# 2.16.1 (0d726954f3), 2.17.1 (7b6021dd4c), 2.18.1 (d09ca091bd), 2.19.1 (eab9c3529b), L18.
_CUDA12_KERNELS = ("sm_50", "sm_60", "sm_70", "sm_80", "compute_90")

SERVING_IMAGES: dict[str, ImageBuild] = {
    "1.15.0-gpu": _SERVING_1_15,
    "2.11.1-gpu": ImageBuild((11, 2), _CUDA11_KERNELS,
                          "tensorflow/serving 2.11.1 (3c50b8fd3c) Dockerfile.devel-gpu L14, .bazelrc L10"),
    "2.13.1-gpu": ImageBuild((11, 8), _CUDA11_KERNELS,
                          "tensorflow/serving 2.13.1 (ae482b9dd1) Dockerfile.devel-gpu L14, .bazelrc L10"),
    "2.14.1-gpu": ImageBuild((11, 8), _CUDA11_KERNELS,
                          "tensorflow/serving 2.14.1 (f8addc3218) Dockerfile.devel-gpu L14, .bazelrc L10"),
    **{
        f"{version}-gpu": ImageBuild((12, 2), _CUDA12_KERNELS,
                                     f"tensorflow/serving {version} ({commit}) Dockerfile.devel-gpu L14, .bazelrc L18")
        for version, commit in (("2.15.1", "a0be2bf6eb"), ("2.16.1", "0d726954f3"), ("2.17.1", "7b6021dd4c"),
                                ("2.18.1", "d09ca091bd"), ("2.19.1", "eab9c3529b"))
    },
    # 2.20.0 (bc7e9d2b9a, 2026-04-23): Dockerfile.gpu L19 and Dockerfile.devel-gpu L14
    # `nvidia/cuda:12.5.1-base-ubuntu22.04`; .bazelrc L20 `TF_CUDA_COMPUTE_CAPABILITIES=
    # "sm_60,sm_70,sm_80,sm_89,compute_90"` (sm_50 dropped in 40c49d7b3, sm_89 added in d6957948f).
    # No sm_86: an A10 (8.6) runs the sm_80 machine code, no JIT. The `2.20.0-gpu` tag follows the
    # image's naming (Dockerfile.gpu L15-16); Docker Hub itself could not be read offline.
    "2.20.0-gpu": ImageBuild((12, 5), ("sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
                             "tensorflow/serving 2.20.0 (bc7e9d2b9a) Dockerfile.gpu L19, .bazelrc L20"),
}

# First CUDA release with each architecture (major compute capability; docs.nvidia.com/deploy/cuda-compatibility).
ARCH_FIRST_CUDA: dict[int, tuple[str, Version]] = {
    6: ("Pascal", (8, 0)),
    7: ("Volta/Turing", (9, 0)),
    8: ("Ampere", (11, 0)),
    9: ("Hopper", (11, 8)),
}
# Turing (7.5) came after Volta (7.0) within the same major.
_FIRST_CUDA_EXACT: dict[Version, Version] = {(7, 5): (10, 0)}

KERNEL = re.compile(r"^(sm|compute)_(\d)(\d)$")


def first_cuda(gpu: Gpu) -> Optional[Version]:
    """The first CUDA release that knows this GPU's architecture (None: not in the table)."""
    exact = _FIRST_CUDA_EXACT.get(gpu.compute_capability)
    if exact is not None:
        return exact
    arch = ARCH_FIRST_CUDA.get(gpu.compute_capability[0])
    return arch[1] if arch else None


def parse_kernel(kernel: str) -> tuple[str, Version]:
    """`sm_75` -> ("sm", (7, 5))."""
    match = KERNEL.fullmatch(kernel)
    assert match, kernel
    return match.group(1), (int(match.group(2)), int(match.group(3)))


@dataclass(frozen=True)
class Fit:
    """How an image runs on a GPU: native SASS, or PTX compiled by the driver at start-up."""

    kind: Literal["native", "jit"]
    kernel: str
    """The target that serves this GPU."""


def fit(gpu: Gpu, build: ImageBuild) -> Union[Fit, str]:
    """How `build` runs on `gpu`, or why it cannot (a sentence for an error message)."""
    first = first_cuda(gpu)
    if first is None or build.cuda < first:
        since = f"first supported by CUDA {first[0]}.{first[1]}" if first else "not in this project's table"
        return (f"the image is built with CUDA {build.cuda_text}, older than the GPU's architecture "
                f"({since})")
    targets = [parse_kernel(k) + (k,) for k in build.kernels]
    major, minor = gpu.compute_capability
    native = [k for kind, (ma, mi), k in targets if kind == "sm" and ma == major and mi <= minor]
    if native:
        return Fit("native", max(native))
    ptx = [(cc, k) for kind, cc, k in targets if kind == "compute" and cc <= gpu.compute_capability]
    if ptx:
        return Fit("jit", max(ptx)[1])
    return (f"the image has no kernels for compute capability {gpu.cc} (machine code for "
            f"{', '.join(k for k in build.kernels if k.startswith('sm_')) or 'none'}; PTX for "
            f"{', '.join(k for k in build.kernels if k.startswith('compute_')) or 'none'})")


def known_build(image: str) -> Optional[ImageBuild]:
    """The build of a tensorflow/serving GPU image by its tag (a digest after the tag is fine:
    it pins that tag's build), or None for any other image."""
    repo, tag = image_reference(image)
    if tag is None:
        return None  # digest only: which release it is cannot be read from the reference
    repo = repo.removeprefix("docker.io/").removeprefix("index.docker.io/")
    return SERVING_IMAGES.get(tag) if repo == _SERVING else None


# --- The NVIDIA driver ---------------------------------------------------------------------------

# Oldest driver branch that runs a CUDA release's applications through minor-version compatibility
# (docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html: 11.x needs >= 450,
# 12.x >= 525) - which does not cover PTX JIT. CUDA 10.0 has no minor-version compatibility: its
# toolkit driver, >= 410.48 (CUDA Toolkit release notes, "CUDA Toolkit and Corresponding Driver
# Versions").
_MINOR_COMPAT_DRIVER = {10: 410, 11: 450, 12: 525}
# Driver branches with the newest CUDA each one fully supports (JIT included): 410 and 460 from
# the release notes' table (10.0.130 >= 410.48, 11.2.1 >= 460.32.03), 470/535/550 from ECI's own
# pairing (help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-specification:
# "Tesla 470, CUDA 11.4", "Tesla 535, CUDA 12.2", "Tesla 550, CUDA 12.4").
DRIVER_CUDA: dict[int, Version] = {410: (10, 0), 460: (11, 2), 470: (11, 4), 535: (12, 2), 550: (12, 4),
                                   # 12.5 Update 1 >= 555.42.06 (the same release notes' table).
                                   555: (12, 5)}


def min_driver(build: ImageBuild, jit: bool) -> Optional[int]:
    """The oldest driver branch that runs this image; with JIT, one whose own CUDA is at least the
    image's. None when no branch in the tables qualifies."""
    if not jit:
        return _MINOR_COMPAT_DRIVER.get(build.cuda[0])
    full = [branch for branch, cuda in sorted(DRIVER_CUDA.items()) if cuda >= build.cuda]
    return full[0] if full else None


# ECI: the driver branches offered for the gn5/gn5i/gn6i/gn6v/gn7i families, and the default
# (help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-specification).
ECI_DRIVERS = (470, 535, 550)
ECI_DEFAULT_DRIVER = 470


def eci_driver(required: int) -> Optional[int]:
    """The ECI driver branch to ask for: None when the default suffices, else the oldest branch
    at or above `required` (raises when ECI offers none)."""
    if required <= ECI_DEFAULT_DRIVER:
        return None
    offered = [b for b in ECI_DRIVERS if b >= required]
    if not offered:
        raise ValueError(f"ECI offers no driver branch >= {required}")
    return offered[0]


@dataclass(frozen=True)
class GpuRuntime:
    """What the serving image needs from the GPUs it was checked against."""

    build: ImageBuild
    jit: bool
    """Some listed GPU runs the image only through PTX compiled at start-up."""
    min_driver: int
    """Oldest NVIDIA driver branch that runs it on all of them."""


# The oldest driver ACK has offered for GPU nodes, 418.181.07 (ACK docs, "Specify an NVIDIA driver
# version for nodes by adding a label": 418.181.07, 450.102.04, 460.32.03). An image that needs
# more is only sure to run on a pool that pins its driver.
ACK_OLDEST_DRIVER = 418
