"""Wiring shared by the components: a Kubernetes object's name, resolved from the object.

Why components take their dependencies as an Args field and their provider through `opts`: the
SDK lets children inherit the parent's providers map (pulumi 3.272.0 `pulumi/resource.py`,
Resource.__init__: "Infer providers and provider maps from parent"), so `providers=` on a
component reaches every Kubernetes child. A component's own `depends_on`, by contrast, is
registered on the component alone, and every child waits for its parent's URN
(`runtime/resource.py` prepare_resource: "Wait for our parent to resolve"), so it would hold
back all children, not only the ones that need the dependency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi
from pulumi_kubernetes.meta.v1 import outputs as meta

R = TypeVar("R", bound=pulumi.CustomResource)


def name_of(metadata: pulumi.Output[meta.ObjectMeta]) -> pulumi.Output[str]:
    """`metadata.name` of a Kubernetes object the program named itself (never generated)."""

    def name(m: meta.ObjectMeta) -> str:
        if m.name is None:
            raise ValueError("a Kubernetes object of this program has no metadata.name")
        return m.name

    return metadata.apply(name)


def k8s_object(kind: Callable[..., R], name: str, manifest: Mapping[str, Any], *, parent: pulumi.Resource,
               depends_on: Sequence[pulumi.Resource] = (), **options: Any) -> R:
    """Register a manifest a pure function built as `kind`, a child of `parent`.

    Each top-level key becomes the SDK's argument of the same name in snake case (`roleRef` ->
    `role_ref`); below that the SDK takes the manifest's own camelCase dicts. The typed classes
    accept `apiVersion`/`kind` and set their own constant (pulumi_kubernetes 4.x
    core/v1/ConfigMap.py, `_internal_init`), so a manifest may carry them; a CustomResource needs them.
    `options` are further ResourceOptions (custom_timeouts, ...).
    """
    fields = {_snake(key): value for key, value in manifest.items()}
    return kind(name, **fields, opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on), **options))


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
