"""Placement: where the serving pods run, as decided by the capacity component.

The serving code applies a Placement without knowing which capacity mode produced it, so there
is no `if mode ==` outside the capacity components.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi


@dataclass(frozen=True)
class Placement:
    """Scheduling constraints and metadata for the serving pods."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    """Pod nodeSelector (e.g. the GPU pool's node label)."""
    node_terms: Sequence[Mapping[str, str]] = ()
    """Required node affinity: the pods run only on a node that carries every label of one of
    these sets (the pool's labels, or the virtual node's). A ResourcePolicy orders nodes but does
    not confine pods to its units; this does."""
    tolerations: Sequence[Mapping[str, Any]] = ()
    """Pod tolerations (e.g. the GPU taint, or the virtual node's taint)."""
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra pod labels (e.g. alibabacloud.com/eci)."""
    pod_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Extra pod annotations (e.g. ECI specs, spot strategy, the image cache's id: an Output)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """Resources the workload waits for, and that `pulumi destroy` removes after it."""
    describe: Optional[str] = None
    """One line for humans: where the pods go."""
