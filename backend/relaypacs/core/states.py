"""One table of allowed state changes, and the three questions asked of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from relaypacs.core.errors import AppError

S = TypeVar("S", bound=StrEnum)


class Transitions(Generic[S]):
    def __init__(self, allowed: Mapping[S, frozenset[S]], illegal: Callable[..., AppError]) -> None:
        self.allowed = allowed
        self.illegal = illegal

    def can_transition(self, current: S, target: S) -> bool:
        return target in self.allowed[current]

    def sources(self, target: S) -> tuple[S, ...]:
        """Every state `target` may be reached from (for compare-and-set UPDATEs)."""
        return tuple(state for state, targets in self.allowed.items() if target in targets)

    def check(self, current: S, target: S) -> None:
        """409 `illegal_transition` (the table's own error) unless the table allows it."""
        if not self.can_transition(current, target):
            raise self.illegal(current=current.value, target=target.value)
