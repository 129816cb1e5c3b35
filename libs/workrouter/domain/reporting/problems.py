"""What is wrong with a report's parameters: one problem per parameter, named as the caller wrote it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_TEXT = 128  # the longest value any report parameter has a use for (an IANA zone name is at most 32)
SHOWN = 40  # how much of a refused value a message echoes


@dataclass(frozen=True, slots=True)
class ParameterProblem:
    """One parameter and what is wrong with it."""

    parameter: str
    message: str


class ReportParameterError(ValueError):
    """The report's parameters are refused before any query; `problems` names each one."""

    def __init__(self, problems: Iterable[ParameterProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.parameter}: {p.message}" for p in self.problems))

    @classmethod
    def one(cls, parameter: str, message: str) -> ReportParameterError:
        """The error for a single problem."""
        return cls([ParameterProblem(parameter, message)])

    def described(self, prefix: str = "") -> str:
        """Every problem as `<prefix><parameter>: <message>`, e.g. prefix '--' for command-line options."""
        return "; ".join(f"{prefix}{p.parameter}: {p.message}" for p in self.problems)


def shown(value: str) -> str:
    """A refused value as a message may echo it: quoted, escaped, and cut short."""
    cut = value if len(value) <= SHOWN else value[:SHOWN] + "…"
    return ascii(cut)


def text_problem(value: str, *, ascii_only: bool, max_length: int = MAX_TEXT) -> str | None:
    """What is wrong with a parameter's text (empty, too long, control or unpaired surrogate characters), or None.

    `ascii_only` is for values that are names or numbers by definition (times, zones, intervals, groups).
    """
    if value == "":
        return "is empty; give a value or leave the parameter out"
    if len(value) > max_length:
        return f"is {len(value)} characters long; at most {max_length}"
    for position, char in enumerate(value):
        if ascii_only and not (char.isascii() and char.isprintable()):
            return f"has {_name(char)} at position {position}; only printable ASCII characters are allowed"
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"has {_name(char)} at position {position}; control characters are not allowed"
    return None


def _name(char: str) -> str:
    return f"U+{ord(char):04X}" + (f" ({unicodedata.name(char)})" if unicodedata.name(char, "") else "")
