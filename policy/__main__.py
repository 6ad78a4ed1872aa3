"""Entry point the Pulumi CLI runs for `pulumi preview --policy-pack policy`."""

import sys
from pathlib import Path

# The pack reuses the project's instance catalog (config/instance_types.py) and image rule, so
# the pack and the program never disagree. The Pulumi CLI runs this file from policy/ (its own
# directory is on the path, the repository root is not), hence the one path entry.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies import POLICIES  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(name="elastic-inference-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
