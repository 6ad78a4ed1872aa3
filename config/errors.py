"""The one error a wrong config raises, wherever it is found."""

from __future__ import annotations

import pulumi

Problem = tuple[str, str]
"""`(dotted key, message)`: what is wrong, and where the user wrote it."""


class ConfigError(pulumi.RunError):
    """The stack's config is wrong. `RunError` makes the CLI print the message, not a trace."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [f"  - {key}: {message}" for key, message in problems]
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"stack configuration has {len(problems)} {noun} "
            f"(nothing was created):\n" + "\n".join(lines)
        )
