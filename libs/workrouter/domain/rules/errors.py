"""The one error a bad rule file raises."""

from __future__ import annotations


class RuleSetError(ValueError):
    """A rule file is invalid; the message names each rule and field path at fault, one per line."""

    def __init__(self, problems: list[str] | tuple[str, ...] | str) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        super().__init__("\n".join(self.problems))
