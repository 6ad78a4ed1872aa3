"""Container image references: the one parser behind the pin check (config and the policy pack),
the known-build lookup (config/images.py), the GPU-tag rule and the version label.

`[registry[:port]/]repository[:tag][@sha256:digest]`, as Docker and containerd read it: a ':'
before the last '/' is a registry port, never a tag.
"""

from __future__ import annotations

import re
from typing import Optional

# Tags that move by design: `latest` and its variants (tensorflow/serving publishes `latest-gpu`,
# `latest-devel`), and nightly builds (`nightly`, `nightly-gpu`).
FLOATING_TAG = re.compile(r"^(latest|nightly)([-_.].*)?$|[-_.](latest|nightly)$", re.IGNORECASE)
DIGEST_MARK = "@sha256:"


def image_reference(image: str) -> tuple[str, Optional[str]]:
    """`[registry[:port]/]repository[:tag][@digest]` -> (everything before the tag, the tag or None)."""
    reference = image.split("@", 1)[0]
    if ":" not in reference.rsplit("/", 1)[-1]:
        return reference, None
    repository, tag = reference.rsplit(":", 1)
    return repository, tag


def image_pin_problem(image: str) -> Optional[str]:
    """Why an image is not pinned (no tag or digest, or a tag that floats), or None when it is.

    A digest pins whatever tag stands beside it, except a floating one, which only misleads.
    A rollout must be reproducible. Shared by the config check and the policy pack."""
    _, tag = image_reference(image)
    if DIGEST_MARK not in image and tag is None:
        return "needs an explicit tag or @sha256 digest (e.g. tensorflow/serving:2.19.1-gpu)"
    if tag is not None and FLOATING_TAG.search(tag):
        return (f"must not use the floating tag {tag!r} (latest and nightly tags move); pin a version "
                "tag or a digest")
    return None


def is_gpu_image(image: str) -> bool:
    """The tag says CPU or GPU (`2.19.1-gpu`); an image known only by its digest, by its name."""
    repository, tag = image_reference(image)
    return "gpu" in (tag if tag is not None else repository.rsplit("/", 1)[-1])


# Docker Hub's names for itself in a reference (a reference with no registry is Docker Hub's).
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


def registry_of(image: str) -> str:
    """The registry host of a reference, as Docker and containerd resolve it: the first path part
    when it has a '.' or ':' or is `localhost`, Docker Hub (`docker.io`) otherwise (the rule of
    distribution/reference normalize.go `splitDockerDomain`, with `index.docker.io` its legacy name)."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return "docker.io" if first in DOCKER_HUB else first
    return "docker.io"


def mirrored(image: str, mirror: str | None) -> str:
    """The reference a Docker Hub image is pulled from through a mirror: `<mirror>/<the name's last
    part>[:tag][@digest]` (`tensorflow/serving:2.20.0-gpu` -> `<mirror>/serving:2.20.0-gpu`, the
    one-level repository names ACR takes); any other registry's image, or no mirror, as it is."""
    if mirror is None or registry_of(image) != "docker.io":
        return image
    return f"{mirror}/{image.rsplit('/', 1)[-1]}"


def canonical(image: str) -> str:
    """A Docker Hub reference in its canonical, fully-qualified form (`docker.io/library/python:3.12`
    for `python:3.12`, `docker.io/tensorflow/serving:...` for `tensorflow/serving:...`): what
    distribution/reference's ParseNormalizedNamed expands a familiar name to. Every normalisation a
    registry client applies ends there, so a reference already in this form reads back the same:
    the image cache's `images`, which the provider reads back and which force a new cache when they
    differ (resource_alicloud_eci_image_cache.go L65-72 ForceNew, Read L177), never differ by
    spelling. Any other registry's reference is fully qualified already."""
    if registry_of(image) != "docker.io":
        return image
    first, _, rest = image.partition("/")
    path = rest if rest and ("." in first or ":" in first) else image
    return f"docker.io/{path if '/' in path.split(':', 1)[0].split('@', 1)[0] else 'library/' + path}"


def image_version(image: str) -> str:
    """The tag (or the digest's first 12 hex digits) of a pinned image, for the
    `app.kubernetes.io/version` label (a label value: at most 63 characters)."""
    last = image.rsplit("/", 1)[-1]
    if DIGEST_MARK in last:
        return last.split(DIGEST_MARK, 1)[1][:12]
    return last.split(":", 1)[1][:63]
