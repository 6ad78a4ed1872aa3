"""ModelStore: the hardened OSS bucket and the upload of the served SavedModel versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from .model_files import content_type, model_files, model_uri, oss_internal_endpoint


@dataclass(frozen=True, kw_only=True)
class ModelStoreArgs:
    """What the ModelStore needs: where the model is, where it goes, and how carefully."""

    bucket: str
    """OSS bucket name (created here when `local_dir` is set)."""
    prefix: str
    """Key prefix of the model base directory."""
    region: str
    """Region, for the internal endpoint the cluster reads from."""
    local_dir: Optional[Path]
    """SavedModel base directory to upload; None when the model is already in OSS (then the
    bucket is not managed and nothing is uploaded)."""
    versions: tuple[int, ...]
    """Served versions (subdirectories of `local_dir`) to upload."""
    protect: bool
    """Protect bucket and objects from deletion (prod); otherwise the bucket is force-destroyable."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the bucket."""


class ModelStore(pulumi.ComponentResource):
    """A private, encrypted, versioned bucket holding the model, or a reference to one.

    Outputs: `bucket` (name, resolved after the bucket exists when managed), `endpoint`
    (internal OSS endpoint), `prefix`, `model_uri` (oss://bucket/prefix), `object_keys`.
    Workloads that need the files depend on the component itself (that covers every object).
    """

    bucket: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    prefix: pulumi.Output[str]
    model_uri: pulumi.Output[str]
    object_keys: pulumi.Output[list[str]]
    endpoint_host: str
    """The internal endpoint as a plain value (it depends only on the region)."""

    def __init__(
        self, name: str, args: ModelStoreArgs, opts: Optional[pulumi.ResourceOptions] = None
    ):
        super().__init__("elastic-inference:storage:ModelStore", name, None, opts)

        if args.local_dir is None:
            self.bucket = pulumi.Output.from_input(args.bucket)
            keys: list[str] = []
        else:
            self.bucket, hardening = self._bucket(name, args)
            files = model_files(args.local_dir, args.prefix, args.versions)
            keys = [f.key for f in files]
            for f in files:
                alicloud.oss.BucketObject(
                    f"{name}-v{f.version}/{f.relative_path}",
                    bucket=self.bucket,
                    key=f.key,
                    source=f.source,
                    content_md5=f.content_md5,
                    content_type=content_type(f.relative_path),
                    server_side_encryption="AES256",
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        protect=args.protect,
                        # Default encryption and the public-access block must be in force
                        # before the first byte lands, or early objects miss them.
                        depends_on=hardening,
                    ),
                )

        self.endpoint_host = oss_internal_endpoint(args.region)
        self.endpoint = pulumi.Output.from_input(self.endpoint_host)
        self.prefix = pulumi.Output.from_input(args.prefix)
        self.model_uri = self.bucket.apply(lambda b: model_uri(b, args.prefix))
        self.object_keys = pulumi.Output.from_input(keys)
        self.register_outputs(
            {
                "bucket": self.bucket,
                "endpoint": self.endpoint,
                "prefix": self.prefix,
                "modelUri": self.model_uri,
                "objectKeys": self.object_keys,
            }
        )

    def _bucket(
        self, name: str, args: ModelStoreArgs
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        # Hardening is a set of separate resources (the inline Bucket arguments are deprecated);
        # they share the bucket's protection so a prod destroy cannot strip them one by one.
        opts = pulumi.ResourceOptions(parent=self, protect=args.protect)
        bucket = alicloud.oss.Bucket(
            f"{name}-bucket",
            bucket=args.bucket,
            storage_class="Standard",
            # Outside prod, destroy must remove a bucket that still holds objects and versions.
            force_destroy=not args.protect,
            tags=dict(args.tags),
            opts=opts,
        )
        hardening: list[pulumi.Resource] = [
            alicloud.oss.BucketAcl(f"{name}-acl", bucket=bucket.bucket, acl="private", opts=opts),
            alicloud.oss.BucketPublicAccessBlock(
                f"{name}-public-access-block",
                bucket=bucket.bucket,
                block_public_access=True,
                opts=opts,
            ),
            alicloud.oss.BucketServerSideEncryption(
                f"{name}-encryption", bucket=bucket.bucket, sse_algorithm="AES256", opts=opts
            ),
            alicloud.oss.BucketVersioning(
                f"{name}-versioning", bucket=bucket.bucket, status="Enabled", opts=opts
            ),
        ]
        return bucket.bucket, hardening
