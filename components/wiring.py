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

import pulumi
from pulumi_kubernetes.meta.v1 import outputs as meta


def name_of(metadata: pulumi.Output[meta.ObjectMeta]) -> pulumi.Output[str]:
    """`metadata.name` of a Kubernetes object the program named itself (never generated)."""

    def name(m: meta.ObjectMeta) -> str:
        if m.name is None:
            raise ValueError("a Kubernetes object of this program has no metadata.name")
        return m.name

    return metadata.apply(name)
