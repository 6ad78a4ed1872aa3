"""The GPU: whether the serving image can drive each listed instance type's GPU, and the NVIDIA
driver it needs from the capacity (config/images.py holds NVIDIA's rules and the image builds)."""

from __future__ import annotations

from typing import Optional, Union

from .. import images
from ..errors import Problem
from ..image_ref import is_gpu_image
from ..instance_types import FAMILIES, family, gpu_of
from ..schema import CapacitySettings, ServingSettings
from .check import rule, warning


@rule
def gpu_image_needs_gpus(serving: ServingSettings) -> list[Problem]:
    if not is_gpu_image(serving.image) or serving.gpus >= 1:
        return []
    return [("serving.gpus", f"must be at least 1 for the GPU image {serving.image!r} "
                             "(use a CPU image such as tensorflow/serving:2.19.0 to serve without a GPU)")]


def gpu_runtime(serving: ServingSettings, capacity: CapacitySettings
                ) -> Union[images.GpuRuntime, list[Problem], None]:
    """What the image needs of the GPUs it was checked against (JIT, driver branch); the problems
    when some listed GPU cannot run it, or the capacity cannot give the driver; None without GPUs."""
    s = serving
    if s.gpus < 1:
        return None
    known = images.known_build(s.image)
    if known is not None and s.image_build is not None:
        return [("serving.imageBuild", (
            f"must not be set for {s.image!r}, whose build is known ({known.source}: CUDA "
            f"{known.cuda_text}, {', '.join(known.kernels)})"))]
    if s.image_build is not None:
        major, minor = (int(x) for x in s.image_build.cuda.split("."))
        build = images.ImageBuild((major, minor), tuple(s.image_build.kernels), "serving.imageBuild")
    elif known is not None:
        build = known
    else:
        return [("serving.imageBuild", (
            f"is required for {s.image!r}: this project knows the CUDA build only of the "
            "tensorflow/serving GPU tags " + ", ".join(sorted(images.SERVING_IMAGES)) + "; state "
            "the image's CUDA release and kernel targets (for a registry copy of one of those "
            "tags, copy its row from config/images.py)"))]
    problems: list[Problem] = []
    jit = False
    for index, name in enumerate(capacity.instance_types):
        key = f"capacity.instanceTypes[{index}]"
        gpu = gpu_of(name)
        if gpu is None:
            problems.append((key, f"{name!r} is of family {family(name)!r}, whose GPU this project does "
                             f"not know (known: {', '.join(sorted(FAMILIES))}); add the family, its GPU "
                             "and a source to config/instance_types.py"))
            continue
        fit = images.fit(gpu, build)
        if isinstance(fit, str):
            drivable = [f"{g.model} ({fam})" for fam, (g, _) in FAMILIES.items()
                        if not isinstance(images.fit(g, build), str)]
            problems.append((key, (
                f"{name} has an NVIDIA {gpu.model} (compute capability {gpu.cc}), which {s.image} "
                f"cannot drive: {fit}. GPUs it can drive: {', '.join(drivable) or 'none'}; or use an "
                "image built for this GPU")))
            continue
        jit = jit or fit.kind == "jit"
    if problems:
        return problems
    driver = images.min_driver(build, jit)
    if driver is None:
        return [("serving.image", f"{s.image} needs a newer NVIDIA driver than any this project knows "
                 f"(CUDA {build.cuda_text}{' with JIT' if jit else ''})")]
    if capacity.mode == "eci" and driver > max(images.ECI_DRIVERS):
        problems.append(("serving.image", f"{s.image} needs NVIDIA driver branch {driver}; ECI offers "
                         f"{', '.join(map(str, images.ECI_DRIVERS))} for these families"))
    pinned = capacity.node_pool.gpu_driver_version
    if capacity.mode == "nodepool" and pinned is not None and int(pinned.split(".")[0]) < driver:
        problems.append(("capacity.nodePool.gpuDriverVersion", (
            f"{pinned} is too old for {s.image}: CUDA {build.cuda_text}"
            f"{' compiling PTX at start-up' if jit else ''} needs driver branch {driver} or newer")))
    return problems or images.GpuRuntime(build=build, jit=jit, min_driver=driver)


@rule
def gpu_fits(serving: ServingSettings, capacity: CapacitySettings) -> list[Problem]:
    """Every listed instance type's GPU is one the serving image can drive, with a driver the
    capacity provides."""
    found = gpu_runtime(serving, capacity)
    return found if isinstance(found, list) else []


def runtime_of(serving: ServingSettings, capacity: CapacitySettings) -> Optional[images.GpuRuntime]:
    """What a valid config's image needs of the GPUs (None: no GPUs)."""
    found = gpu_runtime(serving, capacity)
    return found if isinstance(found, images.GpuRuntime) else None


@warning
def driver_unpinned(serving: ServingSettings, capacity: CapacitySettings) -> list[str]:
    """A node pool that leaves the driver to ACK's default, for an image that needs more than the
    oldest driver ACK has offered: it may work, but this run cannot know."""
    runtime = runtime_of(serving, capacity)
    if (runtime is None or capacity.mode != "nodepool" or capacity.node_pool.gpu_driver_version
            or runtime.min_driver <= images.ACK_OLDEST_DRIVER):
        return []
    return [f"capacity.nodePool.gpuDriverVersion is unset: the pool's nodes get ACK's default NVIDIA "
            f"driver for the cluster version, and {serving.image} needs branch {runtime.min_driver} "
            "or newer; pin one from ACK's list (docs/gpu-and-image.md, \"The driver\")"]


@warning
def jit_compiles(serving: ServingSettings, capacity: CapacitySettings) -> list[str]:
    """A listed GPU that runs the image only through PTX: every new pod there compiles first."""
    runtime = runtime_of(serving, capacity)
    if runtime is None or not runtime.jit:
        return []
    return [f"{serving.image} has no machine code for the GPU of some listed instance type: every new "
            "pod there compiles its kernels at start-up (up to 30 minutes, budgeted in the startup "
            "probe); list types whose GPU it has kernels for to avoid it (docs/gpu-and-image.md, \"The driver\")"]


@warning
def image_build_unused(serving: ServingSettings) -> list[str]:
    if serving.gpus == 0 and serving.image_build is not None:
        return ["serving.imageBuild has no effect with serving.gpus 0: it describes a GPU build"]
    return []
