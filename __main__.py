"""elastic-inference: settings -> components -> exports. The wiring is in components/."""

import pulumi

from components.model_store import ModelStore, ModelStoreArgs
from config import load_settings

settings = load_settings()  # raises ConfigError, naming each bad key, before any resource

tags = {"app": "elastic-inference", "stack": settings.stack, "managed-by": "pulumi"}
store = ModelStore(
    "model",
    ModelStoreArgs(
        bucket=settings.storage.bucket,
        prefix=settings.storage.prefix,
        region=settings.region,
        local_dir=settings.model_source.local_dir,
        versions=tuple(settings.model.versions),
        protect=settings.protect,
        tags=tags,
    ),
)

pulumi.export("bucket", store.bucket)
pulumi.export("ossEndpoint", store.endpoint)
pulumi.export("modelUri", store.model_uri)
