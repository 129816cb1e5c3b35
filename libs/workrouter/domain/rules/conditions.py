"""Compile validated conditions into plain closures over the task's facts, once, at load time."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from workrouter.domain.rules.condition_model import (
    TASK_FIELDS,
    AllCondition,
    AnyCondition,
    FieldCondition,
    NotCondition,
    Range,
)

Facts = Mapping[str, Any]
Predicate = Callable[[Facts], bool]
Getter = Callable[[Facts], Any]
ConditionModel = FieldCondition | AllCondition | AnyCondition | NotCondition


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: 1 == 1.0, but true != 1 and "1" != 1; lists and objects compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def is_number(value: Any) -> bool:
    """An int or float, but not a bool (JSON numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def getter(path: str) -> Getter:
    """A function reading `path` from the facts; absent, null, or under a non-mapping all read as None."""
    if path in TASK_FIELDS:
        return operator.methodcaller("get", path)
    keys = tuple(path.split(".")[1:])
    if len(keys) == 1:
        (key,) = keys

        def attribute(facts: Facts) -> Any:
            attributes = facts.get("attributes")
            try:
                return attributes.get(key)  # type: ignore[union-attr]
            except AttributeError:
                return None

        return attribute

    def nested(facts: Facts) -> Any:
        node = facts.get("attributes")
        for key in keys:
            try:
                node = node.get(key)  # type: ignore[union-attr]
            except AttributeError:
                return None
        return node

    return nested


def _equals(get: Getter, target: Any) -> Predicate:
    if isinstance(target, bool):
        return lambda facts: get(facts) is target
    if isinstance(target, str):
        return lambda facts: get(facts) == target
    if isinstance(target, int | float):

        def number(facts: Facts) -> bool:
            value = get(facts)
            return isinstance(value, int | float) and not isinstance(value, bool) and value == target

        return number
    return lambda facts: json_equal(get(facts), target)


def _one_of(get: Getter, targets: list[Any]) -> Predicate:
    strings = frozenset(t for t in targets if isinstance(t, str))
    numbers = frozenset(t for t in targets if is_number(t))
    bools = frozenset(t for t in targets if isinstance(t, bool))
    others = tuple(t for t in targets if not isinstance(t, str | int | float))

    def one_of(facts: Facts) -> bool:
        value = get(facts)
        if isinstance(value, str):
            return value in strings
        if isinstance(value, bool):
            return value in bools
        if isinstance(value, int | float):
            return value in numbers
        return value is not None and any(json_equal(value, t) for t in others)

    return one_of


def _regex(get: Getter, pattern: str) -> Predicate:
    search = re.compile(pattern).search

    def found(facts: Facts) -> bool:
        value = get(facts)
        return isinstance(value, str) and search(value) is not None

    return found


def _range(get: Getter, bounds: Range) -> Predicate:
    inf = float("inf")
    low = bounds.gt if bounds.gt is not None else (bounds.gte if bounds.gte is not None else -inf)
    high = bounds.lt if bounds.lt is not None else (bounds.lte if bounds.lte is not None else inf)
    above: Callable[[float, float], bool] = operator.lt if bounds.gt is not None else operator.le
    below: Callable[[float, float], bool] = operator.lt if bounds.lt is not None else operator.le

    def within(facts: Facts) -> bool:
        value = get(facts)
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and above(low, value) and below(value, high)
        )

    return within


def _field(condition: FieldCondition) -> Predicate:
    get = getter(condition.field)
    if condition.equals is not None:
        return _equals(get, condition.equals)
    if condition.in_ is not None:
        return _one_of(get, condition.in_)
    if condition.regex is not None:
        return _regex(get, condition.regex)
    if condition.range is not None:
        return _range(get, condition.range)
    if condition.exists:
        return lambda facts: get(facts) is not None
    return lambda facts: get(facts) is None


def _all(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda facts: first(facts) and second(facts)

    def every(facts: Facts) -> bool:
        for predicate in predicates:  # noqa: SIM110  (a plain loop is faster than all() over a generator)
            if not predicate(facts):
                return False
        return True

    return every


def _any(predicates: tuple[Predicate, ...]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda facts: first(facts) or second(facts)

    def some(facts: Facts) -> bool:
        for predicate in predicates:  # noqa: SIM110  (a plain loop is faster than any() over a generator)
            if predicate(facts):
                return True
        return False

    return some


def compile_condition(condition: ConditionModel) -> Predicate:
    """A fast predicate equivalent to the validated condition."""
    if isinstance(condition, FieldCondition):
        return _field(condition)
    if isinstance(condition, AllCondition):
        return _all(tuple(compile_condition(c) for c in condition.all))
    if isinstance(condition, AnyCondition):
        return _any(tuple(compile_condition(c) for c in condition.any))
    inner = compile_condition(condition.not_)
    return lambda facts: not inner(facts)
