"""Where images come from: a stack in mainland China pulling from Docker Hub, and a mirror that
changes nothing."""

from __future__ import annotations

from ..image_ref import registry_of
from ..schema import RegistrySettings, ServingSettings
from .check import warning

# Alibaba Cloud's Chinese mainland regions are its `cn-` regions but Hong Kong ("Regions and zones",
# https://www.alibabacloud.com/help/doc-detail/188196.htm: cn-hongkong is listed outside the
# mainland). From there Docker Hub is reached across the border, which ACK documents ways around
# precisely for docker.io images (cross-domain accelerated pulling: help/en/ack/
# ack-managed-and-ack-dedicated/user-guide/cross-domain-accelerated-pulling-container-images; ACR
# artifact subscription: help/en/acr/user-guide/subscribe-to-image-tags): a stalled pull times
# the image cache out after an hour and backs the check Jobs off, so the first `pulumi up` fails.
OUTSIDE_MAINLAND = ("cn-hongkong",)


def mainland(region: str) -> bool:
    return region.startswith("cn-") and region not in OUTSIDE_MAINLAND


def docker_hub_images(serving: ServingSettings) -> list[tuple[str, str]]:
    """(key, image) of each image the stack runs that names Docker Hub."""
    return [(key, image) for key, image in (("serving.image", serving.image), ("serving.checkImage",
                                                                              serving.check_image))
            if registry_of(image) == "docker.io"]


@warning
def docker_hub_from_the_mainland(registry: RegistrySettings, serving: ServingSettings, region: str) -> list[str]:
    hub = docker_hub_images(serving)
    if registry.mirror is not None or not hub or not mainland(region):
        return []
    listed = ", ".join(f"{key} {image}" for key, image in hub)
    return [f"registry.mirror is unset and {listed} pull{'s' if len(hub) == 1 else ''} from Docker Hub across the "
            f"border from {region}: a stalled pull fails the first pulumi up (the image cache times out after an "
            "hour, the check Jobs back off); copy them into ACR in the region and set registry.mirror "
            "(docs/gpu-and-image.md, \"Pulling the image\")"]


@warning
def mirror_unused(registry: RegistrySettings, serving: ServingSettings) -> list[str]:
    if registry.mirror is None or docker_hub_images(serving):
        return []
    return ["registry.mirror has no effect: serving.image and serving.checkImage already name another registry"]
