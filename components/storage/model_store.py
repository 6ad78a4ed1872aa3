"""ModelStore: the hardened OSS bucket and the upload of the served SavedModel versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from components.storage.model_files import (
    CANARY_DIR,
    alias_files,
    content_type,
    model_files,
    model_uri,
    oss_internal_endpoint,
    warmup_files,
)
from settings import Model, Storage

# Where the generated warmup files are written for the provider to upload (relative, like the model
# source, so the state reads the same on every machine; .gitignore keeps build/ out).
WARMUP_BUILD_DIR = Path("build") / "warmup"
# Bucket attributes managed by standalone sub-resources (BucketServerSideEncryption,
# BucketVersioning, BucketAcl), so the bucket itself must ignore them.
SUB_RESOURCE_ATTRIBUTES = ("server_side_encryption_rule", "versioning", "acl")


def noncurrent_expiry_rule(rule_id: str, days: int) -> alicloud.oss.BucketLifecycleRuleArgs:
    """Old versions expire after `days` anywhere in the stack's own bucket: a retired version or a
    re-upload stays recoverable that long, then stops costing, and so does everything under a prefix
    the stack no longer uses (`storage.prefix` moved). Delete markers left with no version behind
    them are removed too (both are what OSS suggests for a versioned bucket:
    alibabacloud.com/help/en/oss/use-cases/configure-lifecycle-rules-to-manage-object-versions).
    The whole bucket, because the provider replaces a bucket's whole lifecycle configuration with
    what the program declares on every update (resource_alicloud_oss_bucket.go SetBucketLifecycle
    L1512 at ace5bcf87): a rule per prefix would drop the old prefix's rule the day it moves. No
    prefix means every object."""
    return alicloud.oss.BucketLifecycleRuleArgs(
        id=rule_id,
        enabled=True,
        noncurrent_version_expirations=[
            alicloud.oss.BucketLifecycleRuleNoncurrentVersionExpirationArgs(days=days)],
        expirations=[alicloud.oss.BucketLifecycleRuleExpirationArgs(expired_object_delete_marker=True)],
    )


@dataclass(frozen=True, kw_only=True)
class ModelStoreArgs:
    """What the ModelStore needs: where the model is, where it goes, and how carefully."""

    storage: Storage
    """The bucket (created here when the model has a `local_dir`), its prefix, tags and rule."""
    model: Model
    """What to upload: every listed version of `local_dir` (None: the model is already in OSS, the
    bucket is not managed and nothing is uploaded), and with a canary its files again under
    `<prefix>/canary/<served>/` and `<prefix>/canary/<canary>/` for the canary track
    (model_files.alias_files)."""
    region: str
    """Region, for the internal endpoint the cluster reads from."""
    protect: bool
    """Protect the bucket and its settings (versioning included) from deletion (prod); otherwise
    the bucket is force-destroyable. Objects are never protected: see `ModelStore`."""


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

        store, model = args.storage, args.model
        if model.local_dir is None:
            self.bucket = pulumi.Output.from_input(store.bucket)
            keys: list[str] = []
        else:
            self.bucket, hardening = self._bucket(name, args)
            warmup = warmup_files(WARMUP_BUILD_DIR / store.bucket, store.prefix, model.warmup.files)
            files = [(f"{name}-v{f.version}/{f.relative_path}", f)
                     for f in [*model_files(model.local_dir, store.prefix, model.versions), *warmup.values()]]
            if model.canary is not None:
                canary, served = model.canary.version, model.served_version
                extra = [warmup[canary]] if canary in warmup else []
                files += [(f"{name}-canary-v{f.version}/{f.relative_path}", f) for number in (served, canary)
                          for f in alias_files(model.local_dir, store.prefix, CANARY_DIR, canary, number, extra)]
            keys = [f.key for _, f in files]
            for resource_name, f in files:
                alicloud.oss.BucketObject(
                    resource_name,
                    bucket=self.bucket,
                    key=f.key,
                    source=f.source,
                    content_md5=f.content_md5,
                    content_type=content_type(f.relative_path),
                    server_side_encryption="AES256",
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        # Never protected: objects come and go with the served versions (and
                        # the prefix); with versioning on a deleted object stays recoverable as
                        # an old version until the lifecycle rule expires it. What can be lost
                        # for good, the bucket and its versioning, is protected instead.
                        protect=False,
                        # Default encryption and the public-access block must be in force
                        # before the first byte lands, or early objects miss them.
                        depends_on=hardening,
                    ),
                )

        self.endpoint_host = oss_internal_endpoint(args.region)
        self.endpoint = pulumi.Output.from_input(self.endpoint_host)
        self.prefix = pulumi.Output.from_input(store.prefix)
        self.model_uri = self.bucket.apply(lambda b: model_uri(b, store.prefix))
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
            bucket=args.storage.bucket,
            storage_class="Standard",
            # Outside prod, destroy must remove a bucket that still holds objects and versions.
            force_destroy=not args.protect,
            lifecycle_rules=[noncurrent_expiry_rule(args.storage.lifecycle_rule_id,
                                                    args.storage.noncurrent_version_days)],
            tags=dict(args.storage.tags),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                # The standalone resources below own these attributes. The bucket's Read records
                # the live encryption rule and versioning, and without this the next update would
                # "revert" them: Update calls DeleteBucketEncryption when the rule differs from
                # the (empty) inline one (terraform-provider-alicloud resource_alicloud_oss_bucket.go,
                # Read L620-633 and resourceAlicloudOssBucketEncryptionUpdate L1557-1562, at ace5bcf87
                # on release/v2; the 4.0.0 SDK's oss/bucket.py says the sub-resources must come with
                # ignore_changes).
                ignore_changes=list(SUB_RESOURCE_ATTRIBUTES))),
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
