"""Every image the stack runs pulls from one place: `registry.mirror` maps each Docker Hub image to
its copy (the serving image, the in-cluster scripts' image, the load test's drivers, the image
cache's build); a stack in mainland China without one is warned about, by key."""

from __future__ import annotations

import pytest
from harness import NS, run_expecting_error, run_program
from hypothesis import given
from hypothesis import strategies as st

from config import ConfigError
from config.image_ref import canonical, mirrored, registry_of
from loadtest.__main__ import stack_driver_image

MIRROR = "registry-vpc.cn-beijing.aliyuncs.com/elastic-inference"


def images(result) -> set[str]:
    """Every container image of every workload the stack registers."""
    found = set()
    for m in result.manifests():
        spec = m.get("spec", {})
        pod = (spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
               or spec.get("template", {}).get("spec"))
        if pod:
            found |= {c["image"] for c in pod.get("containers", []) + pod.get("initContainers", [])}
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_image_a_shipped_stack_runs_comes_from_its_mirror(stack, rendered):
    result = rendered[(stack, False)]
    assert images(result) == {f"{MIRROR}/serving:1.15.0-gpu", f"{MIRROR}/python:3.12-slim-bookworm"}
    cache = result.one("alicloud:eci/imageCache:ImageCache")
    assert cache.inputs["images"] == [f"{MIRROR}/serving:1.15.0-gpu"]  # exactly what the pods run
    assert not any("registry.mirror" in w for w in result.warnings)


@pytest.mark.parametrize("region, warned", [("cn-beijing", True), ("cn-shanghai-finance-1", True),
                                            ("cn-hongkong", False), ("ap-southeast-1", False)])
def test_docker_hub_from_the_mainland_is_warned_about_by_key(dev_config, region, warned):
    del dev_config[NS + "registry"]
    dev_config["alicloud:region"] = region
    result = run_program(dev_config)
    warning = [w for w in result.warnings if w.startswith("registry.mirror is unset")]
    assert bool(warning) == warned
    if warned:
        assert "serving.image tensorflow/serving:1.15.0-gpu, serving.checkImage python:3.12-slim-bookworm" in warning[0]
    assert images(result) == {"docker.io/tensorflow/serving:1.15.0-gpu", "docker.io/library/python:3.12-slim-bookworm"}


def test_images_of_another_registry_are_left_as_they_are(dev_config):
    acr = "registry-vpc.cn-beijing.aliyuncs.com/team"
    dev_config[NS + "serving"].update(image=f"{acr}/serving:1.15.0-gpu", checkImage=f"{acr}/python:3.12",
                                      imageBuild={"cuda": "10.0", "kernels": ["sm_70", "compute_70"]})
    result = run_program(dev_config)
    assert images(result) == {f"{acr}/serving:1.15.0-gpu", f"{acr}/python:3.12"}
    assert any(w.startswith("registry.mirror has no effect") for w in result.warnings)


@pytest.mark.parametrize("mirror", ["acme", "https://registry.example.com/acme", "registry.example.com",
                                    "Registry.example.com/acme", "registry.example.com/acme/"])
def test_a_mirror_that_names_no_registry_namespace_is_refused(dev_config, mirror):
    dev_config[NS + "registry"] = {"mirror": mirror}
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError) and result.resources == []
    assert [k for k, _ in error.problems] == ["registry.mirror"]
    assert "a registry and namespace such as registry-vpc.cn-beijing.aliyuncs.com/acme" in error.problems[0][1]


@pytest.mark.parametrize("image, registry, through", [
    ("tensorflow/serving:2.20.0-gpu", "docker.io", f"{MIRROR}/serving:2.20.0-gpu"),
    ("python:3.12-slim-bookworm", "docker.io", f"{MIRROR}/python:3.12-slim-bookworm"),
    ("docker.io/library/python:3.12", "docker.io", f"{MIRROR}/python:3.12"),
    ("index.docker.io/tensorflow/serving:2.19.1-gpu", "docker.io", f"{MIRROR}/serving:2.19.1-gpu"),
    ("tensorflow/serving:2.19.1-gpu@sha256:" + "a" * 64, "docker.io",
     f"{MIRROR}/serving:2.19.1-gpu@sha256:" + "a" * 64),
    ("localhost:5000/serving:1", "localhost:5000", "localhost:5000/serving:1"),
    ("registry.example.com/a/b:1", "registry.example.com", "registry.example.com/a/b:1"),
])
def test_a_reference_resolves_as_docker_and_containerd_resolve_it(image, registry, through):
    assert registry_of(image) == registry
    assert mirrored(image, MIRROR) == through
    assert mirrored(image, None) == image


def test_the_load_tests_drivers_pull_what_the_stack_pulls():
    assert stack_driver_image("dev") == f"{MIRROR}/python:3.12-slim-bookworm"


NAME = st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8})?", fullmatch=True)
TAG = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,10}", fullmatch=True)


@given(name=NAME, tag=TAG, prefix=st.sampled_from(["", "docker.io/", "index.docker.io/"]),
       digest=st.booleans())
def test_a_cached_reference_is_a_fixed_point_of_normalisation(name, tag, prefix, digest):
    """What the cache is sent reads back as sent: its canonical form is canonical already, names the
    same image, and a registry client's expansion (docker.io, library/) changes nothing more."""
    image = f"{prefix}{name}:{tag}" + ("@sha256:" + "c" * 64 if digest else "")
    sent = canonical(image)
    assert canonical(sent) == sent and registry_of(sent) == "docker.io"
    assert sent.startswith("docker.io/") and sent.count("/") == 2
    assert sent.endswith(image.rsplit("/", 1)[-1])


def test_without_a_mirror_the_cache_and_the_pods_run_one_spelling(dev_config):
    del dev_config[NS + "registry"]
    result = run_program(dev_config)
    pod = result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert result.one("alicloud:eci/imageCache:ImageCache").inputs["images"] == [pod]
    assert pod == "docker.io/tensorflow/serving:1.15.0-gpu"
