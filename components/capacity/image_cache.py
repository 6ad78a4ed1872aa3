"""EciImageCache: a stack-owned ECI image cache of the serving image, Ready before any pod uses it.

ECI's automatic cache (`k8s.aliyun.com/eci-auto-imc`, on by default) is built while the first pod
of an image is created, and that pod pulls the whole image: the first burst after a new image
pays the pull ("If you want to use an image cache to accelerate the creation when you create an
elastic container instance for the first time, you must manually create an image cache in
advance": ECI's "Overview of image caches", https://www.alibabacloud.com/help/en/eci/user-guide/
overview-of-image-caches-1, and ACK's https://www.alibabacloud.com/help/doc-detail/273116.htm).
So the stack creates one, and the ECI pods pin it with `k8s.aliyun.com/eci-imc-id`, which takes
precedence over automatic matching ("the explicit method takes precedence over the automatic
matching method", https://help.aliyun.com/en/eci/user-guide/use-imagecache-to-accelerate-the-
creation-of-pods). A pinned cache must be Ready or the pod fails: the provider's create waits
until the cache is Ready and fails on Failed (resource_alicloud_eci_image_cache.go Create L156,
Timeouts L21-23 at ace5bcf87), and the workload depends on this component. A cache with
`retentionDays` is not pinned but matched by image (`k8s.aliyun.com/eci-auto-imc: "true"`): once
ECI deletes it, a pinned id would fail every new pod until the next `pulumi up`.

Every argument forces a new cache (the resource has no Update): a new image is a new cache, named
by a hash of its images, created before the old one is deleted (Pulumi's default replacement).
Its cost: a temporary 2 vCPU / 4 GiB instance and a disk while it builds, a snapshot while it
lives, and a disk of `size` GiB on every pod made from it (ECI billing, "Image caches").
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from settings import ImageCache

# Building the cache pulls the images once; the provider waits 60 minutes by default, as long
# as a cold pull of a multi-GB image from Docker Hub may take.
TIMEOUTS = pulumi.CustomTimeouts(create="60m")


def image_cache_args(a: ImageCache) -> dict:
    """Keyword arguments of `alicloud.eci.ImageCache`."""
    args: dict = {"image_cache_name": a.name, "images": list(a.images), "image_cache_size": a.size,
                  "vswitch_id": a.vswitch_id, "security_group_id": a.security_group_id}
    if a.retention_days is not None:
        args["retention_days"] = a.retention_days
    if a.eip_instance_id is not None:
        args["eip_instance_id"] = a.eip_instance_id
    return args


class EciImageCache(pulumi.ComponentResource):
    """The cache. Output: `cache_id` (`imc-...`, what the pods pin)."""

    cache_id: pulumi.Output[str]
    retention_days: Optional[int]
    """As configured: a cache ECI deletes in time is matched, not pinned (eci_capacity.CacheUse)."""

    def __init__(self, name: str, args: ImageCache, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:capacity:EciImageCache", name, None, opts)
        cache = alicloud.eci.ImageCache(f"{name}-cache", **image_cache_args(args),
                                        opts=pulumi.ResourceOptions(parent=self, custom_timeouts=TIMEOUTS))
        self.cache_id = cache.id
        self.retention_days = args.retention_days
        self.register_outputs({"cacheId": self.cache_id})
