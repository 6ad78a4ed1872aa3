"""Stack configuration: read once, validated completely, resolved into frozen `Settings`.

Importing this package does no work; `load_settings()` does it, and raises `ConfigError`
(naming each wrong key) before any resource is registered.
"""

from settings import Settings

from .errors import ConfigError
from .loader import load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
