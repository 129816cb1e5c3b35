"""A URL query string read strictly: UTF-8 only, each parameter once, only the parameters an endpoint takes.

Starlette's own parsing replaces bytes that are not UTF-8 with U+FFFD, keeps the last of a repeated
parameter and ignores unknown ones; a report asked with `format=csv&format=json` or a misspelt `intreval`
would then quietly answer something other than what was meant.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from workrouter.domain.reporting.problems import ParameterProblem, ReportParameterError, shown

MAX_PARAMETERS = 20


def strict_query(raw: bytes, known: tuple[str, ...]) -> dict[str, str]:
    """The query's parameters by name; ReportParameterError naming each one that is not UTF-8, repeated or unknown."""
    found: dict[str, str] = {}
    problems: list[ParameterProblem] = []
    pairs = [pair for pair in raw.split(b"&") if pair]
    if len(pairs) > MAX_PARAMETERS:
        raise ReportParameterError.one("query", f"has {len(pairs)} parameters; at most {MAX_PARAMETERS}")
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name = _decoded(raw_name)
        except UnicodeDecodeError:
            problems.append(ParameterProblem("query", "a parameter name is not valid UTF-8 once percent-decoded"))
            continue
        if name not in known:
            known_ones = f"known: {', '.join(known)}" if known else "this route takes no parameters"
            problem = f"unknown parameter {shown(name)}; {known_ones}"
            problems.append(ParameterProblem(shown(name)[1:-1], problem))
            continue
        if name in found:
            repeated = ParameterProblem(name, "given more than once; give it once")
            if repeated not in problems:
                problems.append(repeated)
            continue
        try:
            found[name] = _decoded(raw_value)
        except UnicodeDecodeError:
            problems.append(ParameterProblem(name, "is not valid UTF-8 once percent-decoded"))
            found[name] = ""
    if problems:
        raise ReportParameterError(problems)
    return found


def _decoded(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
