"""GPU and image agree: every listed instance type's GPU is one the serving image can drive, the
driver it needs is provided, and a GPU it reaches only through PTX gets a writable JIT cache and
the time to compile."""

from __future__ import annotations

import re

import pytest
from harness import NS, run_expecting_error, run_program, stack_file_config
from inputs import stack_config

from components.serving import spec as serving_spec
from config import ConfigError, images
from config.images import Fit, ImageBuild
from config.instance_types import (
    A10,
    CATALOG,
    FAMILIES,
    NAMING_DOC,
    P4,
    P100,
    T4,
    V100,
    family,
    gpu_of,
    node_allocatable,
)
from config.rules import capacity, gpu

SERVING_1_15 = images.SERVING_IMAGES["1.15.0-gpu"]
SERVING_2_19 = images.SERVING_IMAGES["2.19.1-gpu"]
MIRROR = "registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu"
# A build with PTX for Volta only: a T4 runs it by compiling at start-up.
PTX_ONLY = {"cuda": "12.2", "kernels": ["compute_70"]}


# --- the rules, as NVIDIA states them ---------------------------------------------------------

@pytest.mark.parametrize("gpu,build,expected", [
    # Same major, lower minor: Volta machine code runs on Turing (Turing Compatibility Guide 1.3).
    (T4, SERVING_1_15, Fit("native", "sm_70")),
    (V100, SERVING_1_15, Fit("native", "sm_70")),
    (P4, SERVING_1_15, Fit("native", "sm_61")),
    (P100, SERVING_2_19, Fit("native", "sm_60")),
    (A10, SERVING_2_19, Fit("native", "sm_80")),
    # No machine code for Ampere in the CUDA 11 builds, PTX for 8.0: compiled at start-up.
    (A10, images.SERVING_IMAGES["2.14.1-gpu"], Fit("jit", "compute_80")),
    (T4, ImageBuild((12, 2), ("compute_70",), "t"), Fit("jit", "compute_70")),
], ids=["t4-1.15", "v100-1.15", "p4-1.15", "p100-2.19", "a10-2.19", "a10-2.14-ptx", "t4-ptx-only"])
def test_how_an_image_runs_on_a_gpu(gpu, build, expected):
    assert images.fit(gpu, build) == expected


@pytest.mark.parametrize("gpu,build,words", [
    (A10, SERVING_1_15, "built with CUDA 10.0, older than the GPU's architecture (first supported by CUDA 11.0)"),
    # Machine code of another major never runs, and PTX newer than the GPU cannot be compiled for it.
    (V100, ImageBuild((12, 2), ("sm_80", "compute_80"), "t"), "no kernels for compute capability 7.0"),
    (T4, ImageBuild((12, 2), ("sm_86",), "t"), "no kernels for compute capability 7.5"),
], ids=["a10-cuda10", "v100-ampere-only", "t4-sm86-only"])
def test_what_an_image_cannot_drive(gpu, build, words):
    problem = images.fit(gpu, build)
    assert isinstance(problem, str) and words in problem


def test_the_serving_image_builds_are_the_release_tags():
    """The table's rows, as read from tensorflow/serving at each tag (config/images.py cites
    the commit and lines)."""
    assert SERVING_1_15.cuda == (10, 0) and SERVING_1_15.kernels[-2:] == ("sm_70", "compute_70")
    assert {tag: build.cuda for tag, build in images.SERVING_IMAGES.items()} == {
        "1.15.0-gpu": (10, 0), "2.11.1-gpu": (11, 2), "2.13.1-gpu": (11, 8), "2.14.1-gpu": (11, 8),
        "2.15.1-gpu": (12, 2), "2.16.1-gpu": (12, 2), "2.17.1-gpu": (12, 2), "2.18.1-gpu": (12, 2),
        "2.19.1-gpu": (12, 2), "2.20.0-gpu": (12, 5)}
    cuda11_kernels = ("sm_35", "sm_50", "sm_60", "sm_70", "sm_75", "compute_80")
    assert {images.SERVING_IMAGES[f"{v}-gpu"].kernels for v in ("2.11.1", "2.13.1", "2.14.1")} == {cuda11_kernels}
    assert SERVING_2_19.kernels == ("sm_50", "sm_60", "sm_70", "sm_80", "compute_90")
    assert images.SERVING_IMAGES["2.20.0-gpu"].kernels == ("sm_60", "sm_70", "sm_80", "sm_89", "compute_90")
    cuda12 = ("2.15", "2.16", "2.17", "2.18", "2.19")
    assert {b.cuda for t, b in images.SERVING_IMAGES.items() if t.startswith(cuda12)} == {(12, 2)}
    cited = re.compile(r"^tensorflow/serving \d+\.\d+\.\d+ \([0-9a-f]{10}\)")
    assert all(cited.match(b.source) for b in images.SERVING_IMAGES.values())


@pytest.mark.parametrize("image,tag", [
    ("tensorflow/serving:1.15.0-gpu", "1.15.0-gpu"),
    ("docker.io/tensorflow/serving:2.19.1-gpu", "2.19.1-gpu"),
    ("index.docker.io/tensorflow/serving:2.14.1-gpu", "2.14.1-gpu"),
    ("tensorflow/serving:2.19.1-gpu@sha256:" + "a" * 64, "2.19.1-gpu"),
    ("tensorflow/serving@sha256:" + "a" * 64, None),
    ("tensorflow/serving:2.19.0", None),
    (MIRROR, None),
])
def test_known_builds_are_found_by_tag(image, tag):
    assert images.known_build(image) == (images.SERVING_IMAGES[tag] if tag else None)


def test_the_catalog_agrees_with_the_naming_rule():
    """Each row is of a known family, and its GPU count is what the name says: `cXg1` is X vCPUs
    per GPU (NAMING_DOC); gn7i's `Nx` sizes carry N GPUs (its table)."""
    assert "naming" in NAMING_DOC
    for name, spec in CATALOG.items():
        assert family(name) in FAMILIES, name
        per_gpu, gpus = re.search(r"-c(\d+)g1\.", name), re.search(r"-(\d+)x\.", name)
        assert (spec.gpus == spec.vcpus // int(per_gpu.group(1))) if per_gpu else spec.gpus == int(gpus.group(1)), name
        assert spec.source, name


# The one row whose vCPUs differ from its size suffix, as the gn6v table lists it.
SIZE_EXCEPTIONS = {"ecs.gn6v-c10g1.20xlarge": 82}


# gn7i's memory per type, from its ECS table (config/instance_types.py GN7I_DOC).
GN7I_MEMORY = {"ecs.gn7i-c8g1.2xlarge": 30, "ecs.gn7i-c16g1.4xlarge": 60, "ecs.gn7i-c32g1.8xlarge": 188,
               "ecs.gn7i-c48g1.12xlarge": 310, "ecs.gn7i-c56g1.14xlarge": 346, "ecs.gn7i-c32g1.16xlarge": 376,
               "ecs.gn7i-c32g1.32xlarge": 752, "ecs.gn7i-2x.8xlarge": 128, "ecs.gn7i-4x.8xlarge": 128,
               "ecs.gn7i-4x.16xlarge": 256, "ecs.gn7i-8x.32xlarge": 512, "ecs.gn7i-8x.16xlarge": 256}
# Memory per vCPU of each family, as its table lists the sizes; and the one row that differs.
MEMORY_PER_VCPU = {"gn5i": 4, "gn5": 7.5, "gn6i": 3.875, "gn6v": 4}
MEMORY_EXCEPTIONS = {"ecs.gn6v-c10g1.20xlarge": 336, "ecs.gn6i-c4g1.xlarge": 15}


def test_the_catalog_memory_agrees_with_its_family():
    """A typo in a row's memory is caught: each family's table scales memory with vCPUs (gn7i's does
    not: its rows are checked against the table below, as read)."""
    for name, spec in CATALOG.items():
        if family(name) == "gn7i":
            assert spec.memory_gib == GN7I_MEMORY[name], name
            continue
        expected = MEMORY_EXCEPTIONS.get(name, spec.vcpus * MEMORY_PER_VCPU[family(name)])
        assert spec.memory_gib == expected, name


def test_the_catalog_sizes_agree_with_their_suffix():
    """A typo in a row's vCPUs is caught: the size suffix counts vCPUs (large = 2, Nxlarge = 4N),
    except where the family table says otherwise."""
    for name, spec in CATALOG.items():
        size = name.rsplit(".", 1)[1]
        expected = 2 if size == "large" else 4 * int(size.removesuffix("xlarge") or 1)
        assert spec.vcpus == SIZE_EXCEPTIONS.get(name, expected), name


# --- the program refuses what cannot run ------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_stacks_list_only_gpus_their_image_drives(stack):
    config = stack_file_config(stack)
    image = config[NS + "serving"]["image"]
    build = images.known_build(image)
    assert build is not None, image
    for name in config[NS + "capacity"]["instanceTypes"]:
        gpu = gpu_of(name)
        assert gpu is not None and isinstance(images.fit(gpu, build), Fit), (name, image)
        assert name in CATALOG, name


def test_an_a10_next_to_the_1_15_image_is_rejected_before_anything_exists(prod_config):
    prod_config[NS + "capacity"]["instanceTypes"] = ["ecs.gn6i-c8g1.2xlarge", "ecs.gn7i-c8g1.2xlarge"]
    error, result = run_expecting_error(prod_config, "prod")
    assert isinstance(error, ConfigError)
    assert ("  - capacity.instanceTypes[1]: ecs.gn7i-c8g1.2xlarge has an NVIDIA A10 (compute capability 8.6), "
            "which tensorflow/serving:1.15.0-gpu cannot drive") in str(error)
    assert "T4 (gn6i)" in str(error)  # what it can drive instead
    assert result.resources == []


@pytest.mark.parametrize("mode", ["eci", "nodepool"])
def test_an_a10_with_the_current_image_works_end_to_end(dev_config, mode):
    """gn7i (A10, 8.6) with tensorflow/serving:2.20.0-gpu (CUDA 12.5): the sm_80 machine code runs
    it natively, so minor-version compatibility's 525 suffices: ECI is asked for 535, its oldest
    branch above that (images.eci_driver); a pool is told to pin one."""
    dev_config[NS + "serving"].update(image="tensorflow/serving:2.20.0-gpu", cpu="6", memory="24Gi")
    capacity = {"mode": mode, "instanceTypes": ["ecs.gn7i-c8g1.2xlarge", "ecs.gn7i-c16g1.4xlarge"]}
    if mode == "nodepool":
        capacity["nodePool"] = {"keyName": "gpu-nodes", "maxSize": 4}
    dev_config[NS + "capacity"] = capacity
    result = run_program(dev_config)
    template = result.kind("Deployment", "bert-tfserving")["spec"]["template"]
    annotations = template["metadata"].get("annotations", {})
    if mode == "eci":
        assert annotations["k8s.aliyun.com/eci-gpu-driver-version"] == "tesla=535"
        assert annotations["k8s.aliyun.com/eci-use-specs"] == "ecs.gn7i-c8g1.2xlarge,ecs.gn7i-c16g1.4xlarge"
    else:
        assert any("gpuDriverVersion is unset" in w and "branch 525" in w for w in result.warnings)
    assert not any("compiles its kernels" in w for w in result.warnings)


def test_an_unknown_image_must_state_its_build(dev_config):
    dev_config[NS + "serving"]["image"] = MIRROR
    error, result = run_expecting_error(dev_config)
    assert f"  - serving.imageBuild: is required for {MIRROR!r}" in str(error)
    assert "2.19.1-gpu" in str(error) and result.resources == []


def test_a_known_image_does_not_take_a_second_build(dev_config):
    dev_config[NS + "serving"]["imageBuild"] = PTX_ONLY
    error, _ = run_expecting_error(dev_config)
    assert "  - serving.imageBuild: must not be set for 'tensorflow/serving:1.15.0-gpu'" in str(error)


def test_a_stated_build_is_checked_like_a_known_one(dev_config):
    dev_config[NS + "serving"].update(image=MIRROR, imageBuild={"cuda": "11.8", "kernels": ["sm_80"]})
    error, _ = run_expecting_error(dev_config)
    assert "ecs.gn6i-c4g1.xlarge has an NVIDIA T4 (compute capability 7.5)" in str(error)
    assert "no kernels for compute capability 7.5" in str(error)


def test_a_registry_copy_with_its_build_deploys(dev_config):
    dev_config[NS + "serving"].update(image=MIRROR, imageBuild={"cuda": "10.0", "kernels": ["sm_70", "compute_70"]})
    container = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == MIRROR


# --- the driver --------------------------------------------------------------------------------

def as_pool(config: dict, image: str, driver=None) -> dict:
    config[NS + "serving"]["image"] = image
    if driver is not None:
        config[NS + "capacity"]["nodePool"]["gpuDriverVersion"] = driver
    return config


def test_a_pinned_driver_too_old_for_the_image_is_rejected(prod_config):
    error, _ = run_expecting_error(as_pool(prod_config, "tensorflow/serving:2.19.1-gpu", "470.82.01"), "prod")
    assert ("  - capacity.nodePool.gpuDriverVersion: 470.82.01 is too old for tensorflow/serving:2.19.1-gpu: "
            "CUDA 12.2 needs driver branch 525 or newer") in str(error)


def test_a_pinned_driver_reaches_the_pool_as_ack_reads_it(prod_config):
    result = run_program(as_pool(prod_config, "tensorflow/serving:2.19.1-gpu", "550.144.03"), "prod")
    labels = {label["key"]: label["value"] for label in result.one("alicloud:cs/nodePool:NodePool").inputs["labels"]}
    assert labels["ack.aliyun.com/nvidia-driver-version"] == "550.144.03"
    assert result.warnings == []
    # The pods still select only the configured labels (prod's ECI overflow: through the
    # ResourcePolicy's pool unit), and on ECI ask for the branch the image needs.
    units = result.kind("ResourcePolicy")["spec"]["units"]
    assert units[0]["nodeSelector"] == {"inference": "tensorflow"}
    assert "nodeSelector" not in result.kind("Deployment")["spec"]["template"]["spec"]
    annotations = result.kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["k8s.aliyun.com/eci-gpu-driver-version"] == "tesla=535"


def test_a_pool_left_on_acks_default_driver_is_warned_about(prod_config):
    result = run_program(as_pool(prod_config, "tensorflow/serving:2.19.1-gpu"), "prod")
    assert any("gpuDriverVersion is unset" in w and "branch 525" in w for w in result.warnings), result.warnings
    # The 1.15 image (CUDA 10.0) needs 410: every driver ACK has offered runs it.
    assert not any("gpuDriverVersion" in w for w in run_program(stack_file_config("prod"), "prod").warnings)


# --- a GPU reached through PTX: a writable JIT cache, and time to compile ------------------------

def pod(result) -> dict:
    return result.kind("Deployment")["spec"]["template"]["spec"]


def test_ptx_only_gets_a_writable_cache_and_a_startup_budget(dev_config):
    dev_config[NS + "serving"].update(image=MIRROR, imageBuild=PTX_ONLY)
    result = run_program(dev_config)
    spec = pod(result)
    container = spec["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["CUDA_CACHE_PATH"] == serving_spec.CUDA_CACHE_DIR
    assert int(env["CUDA_CACHE_MAXSIZE"]) >= 2**30  # above the driver's default
    # The root filesystem is read-only: the cache must be a volume of its own, writable.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == env["CUDA_CACHE_PATH"])
    assert not mount.get("readOnly")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert "emptyDir" in volume
    probe = container["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 15 * 60 + serving_spec.JIT_COMPILE_SECONDS
    timeouts = result.one("kubernetes:apps/v1:Deployment").custom_timeouts
    assert timeouts == {"create": "70m", "update": "70m"}
    assert any("compiles its kernels at start-up" in w for w in result.warnings)


def test_native_kernels_need_neither(rendered):
    result = rendered[("dev", False)]
    container = pod(result)["containers"][0]
    assert "env" not in container
    assert container["startupProbe"]["failureThreshold"] == serving_spec.STARTUP_FAILURE_THRESHOLD
    assert result.one("kubernetes:apps/v1:Deployment").custom_timeouts == {"create": "40m", "update": "40m"}
    assert result.warnings == []


@pytest.mark.parametrize("cuda,jit,driver", [
    # Minor-version compatibility (no JIT): the branch that runs the whole major.
    ((10, 0), False, 410), ((11, 2), False, 450), ((11, 8), False, 450), ((12, 2), False, 525),
    # With PTX compiled by the driver: a branch whose own CUDA is at least the image's.
    ((10, 0), True, 410), ((10, 1), True, 460), ((11, 2), True, 460), ((11, 4), True, 470),
    ((11, 8), True, 535), ((12, 2), True, 535), ((12, 4), True, 550), ((12, 8), True, None),
], ids=lambda v: str(v))
def test_the_oldest_driver_that_runs_a_build(cuda, jit, driver):
    """NVIDIA's CUDA compatibility rules, as config/images.py cites them."""
    assert images.min_driver(ImageBuild(cuda, ("sm_70",), "t"), jit) == driver


def test_a_node_keeps_room_for_its_system_and_gives_the_rest_to_pods():
    """The reservation estimate leaves every listed type less than it has, and most of it."""
    for name, spec in CATALOG.items():
        cpu, memory = node_allocatable(spec)
        assert 0.85 * spec.vcpus <= cpu < spec.vcpus, name
        assert 0.8 * spec.memory_gib <= memory < spec.memory_gib, name


@pytest.mark.parametrize("image,gpus,refused", [
    ("registry-vpc.cn-beijing.aliyuncs.com:5000/gpu-team/serving:2.19.1", 0, False),
    ("tensorflow/serving:2.19.1-gpu", 0, True),
    ("registry-vpc.cn-beijing.aliyuncs.com:5000/acme/serving:2.19.1-gpu", 0, True),
], ids=["cpu-tag-in-a-gpu-named-repo", "gpu-tag", "gpu-tag-behind-a-port"])
def test_a_gpu_image_needs_a_gpu_judged_by_its_tag(dev_config, image, gpus, refused):
    dev_config[NS + "serving"].update(image=image, gpus=gpus)
    if refused:
        error, _ = run_expecting_error(dev_config)
        assert "serving.gpus: must be at least 1 for the GPU image" in str(error)
    else:
        result = run_program(dev_config)
        assert "nvidia.com/gpu" not in result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0][
            "resources"]["limits"]


def test_every_catalog_row_is_usable(dev_config):
    """Each listed type is one a pool can use: a small pod fits it, and the image drives its GPU
    or the refusal names exactly that GPU."""
    for name in CATALOG:
        dev_config[NS + "capacity"] = {"mode": "nodepool", "instanceTypes": [name],
                                       "nodePool": {"keyName": "gpu-nodes", "maxSize": 10}}
        dev_config[NS + "serving"].update(cpu="1", memory="1Gi", image="tensorflow/serving:2.19.1-gpu")
        dev_config[NS + "autoscaling"]["maxReplicas"] = 1
        cfg = stack_config(dev_config)
        assert capacity.capacity_fits(cfg.capacity, cfg.serving, cfg.autoscaling, cfg.model) == [], name


def test_eci_refuses_an_image_needing_a_driver_it_does_not_offer(dev_config, monkeypatch):
    """Should a build need a branch above ECI's newest (550), eci mode refuses it, naming the image."""
    monkeypatch.setitem(images.DRIVER_CUDA, 570, (12, 8))
    dev_config[NS + "serving"].update(image="registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu",
                                      imageBuild={"cuda": "12.8", "kernels": ["compute_70"]})
    cfg = stack_config(dev_config)
    problems = gpu.gpu_runtime(cfg.serving, cfg.capacity)
    assert problems == [("serving.image", "registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu needs NVIDIA "
                                          "driver branch 570; ECI offers 470, 535, 550 for these families")]


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_the_current_release_on_every_family_the_catalog_knows(family_name):
    """tensorflow/serving 2.20.0-gpu (CUDA 12.5: sm_60, 70, 80, 89 + compute_90) runs every GPU the
    catalog knows from machine code, so minor-version compatibility (525) suffices and ECI is asked
    for 535, its oldest branch at or above it; no family needs JIT (which would need 555, above
    ECI's 550)."""
    build = images.SERVING_IMAGES["2.20.0-gpu"]
    gpu_model, _ = FAMILIES[family_name]
    fit = images.fit(gpu_model, build)
    assert isinstance(fit, Fit) and fit.kind == "native", (family_name, fit)
    assert images.min_driver(build, jit=False) == 525 and images.eci_driver(525) == 535
    assert images.min_driver(build, jit=True) == 555 and max(images.ECI_DRIVERS) < 555
