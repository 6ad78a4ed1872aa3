"""The stack's component resources, one per file, each with a frozen dataclass of args."""
