"""elastic-inference: read the stack's settings, build the component tree, export its outputs.

config/ reads and validates everything first: a wrong value raises ConfigError, naming each bad
key, before any resource exists. components/stack.py is the one place that turns the settings
into components (the tests call the same two functions under Pulumi's mock engine).
"""

import pulumi

from components.stack import build
from config import load_settings

settings = load_settings()
for name, value in build(settings).items():
    pulumi.export(name, value)
