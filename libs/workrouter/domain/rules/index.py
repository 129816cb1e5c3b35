"""An equality index over the rules: skip, without evaluating them, rules that cannot match a task.

Most rules pin a field to a few values (`department equals Finance`, `segment in [Gold, Silver]`).
At load time each rule gets a *guard* when its condition implies "some field F equals one of these
scalars" (a conjunct of an `all`, or every branch of an `any`); at classify time one dictionary lookup
per guarded field yields a bitmask of the rules that may match (bit i = the i-th rule). Rules are then
evaluated in file order over that mask only, so the result is exactly that of evaluating every rule.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workrouter.domain.rules.condition_model import AllCondition, AnyCondition, FieldCondition
from workrouter.domain.rules.conditions import ConditionModel, Facts, Getter, getter

# A guard: (field path, value key) pairs, at least one of which the facts must meet for the condition to hold.
Guard = frozenset[tuple[str, Hashable]]
# Booleans get keys equal to nothing else, since True == 1 and hash(True) == hash(1).
_BOOL_KEYS: Mapping[bool, Hashable] = {True: object(), False: object()}
_NO_KEY = object()


def value_key(value: Any) -> Hashable:
    """A dict key under which JSON-equal scalars meet: 1 and 1.0 share one, True and 1 do not."""
    if isinstance(value, bool):
        return _BOOL_KEYS[value]
    if isinstance(value, str | int | float) and value == value:  # noqa: PLR0124  (NaN equals nothing)
        return value
    return _NO_KEY  # null, lists and objects never equal an indexed scalar


def guard(condition: ConditionModel) -> Guard | None:
    """Pairs (field, key) such that the condition can hold only if some field's value has its key; None: no such."""
    if isinstance(condition, FieldCondition):
        targets = [condition.equals] if condition.equals is not None else condition.in_
        if targets is None:
            return None
        keys = [value_key(t) for t in targets]
        return None if _NO_KEY in keys else frozenset((condition.field, key) for key in keys)
    if isinstance(condition, AllCondition):  # one conjunct's guard is enough: take the narrowest
        guards = [g for g in map(guard, condition.all) if g is not None]
        return min(guards, key=len, default=None)
    if isinstance(condition, AnyCondition):  # every branch must be guarded
        guards = [g for g in map(guard, condition.any) if g is not None]
        return frozenset().union(*guards) if len(guards) == len(condition.any) else None
    return None


@dataclass(frozen=True, eq=False)
class RuleIndex:
    """Bitmasks of the rules that may match, per value of each guarded field."""

    unguarded: int
    fields: tuple[tuple[Getter, Mapping[Hashable, int]], ...]

    def candidates(self, facts: Facts) -> int:
        """Bitmask of the rules whose guard lets them match these facts."""
        mask = self.unguarded
        for get, by_key in self.fields:
            value = get(facts)
            if value is not None:
                try:  # noqa: SIM105  (contextlib.suppress costs more than the lookup)
                    mask |= by_key.get(_BOOL_KEYS[value] if type(value) is bool else value, 0)
                except TypeError:  # an unhashable value (list, object) equals no indexed scalar
                    pass
        return mask


def build_index(conditions: Sequence[ConditionModel]) -> RuleIndex:
    """The index of rules in this order (bit i is conditions[i])."""
    unguarded = 0
    by_field: dict[str, dict[Hashable, int]] = {}
    for position, condition in enumerate(conditions):
        found = guard(condition)
        if found is None:
            unguarded |= 1 << position
            continue
        for path, key in found:
            masks = by_field.setdefault(path, {})
            masks[key] = masks.get(key, 0) | 1 << position
    return RuleIndex(unguarded, tuple((getter(path), masks) for path, masks in by_field.items()))
