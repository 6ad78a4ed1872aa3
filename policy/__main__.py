"""Entry point the Pulumi CLI runs for `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

# The pack reuses the project's instance catalog (config/instance_types.py) for the capacity
# bound, so the pack and the program never disagree on what a node holds.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies import POLICIES  # noqa: E402

PolicyPack(name="elastic-inference-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
