"""`@immutable`: a dataclass the type checker holds frozen, built without frozen's runtime cost.

CPython 3.11 sets each field of a frozen dataclass through `object.__setattr__`: constructing one
of four fields takes about 8,000 instructions, a plain slotted one about 3,000. The classifier
builds several per event (facts, records, states, rule items). Nothing may assign to their
fields: `mypy --strict` (`make lint`) rejects an assignment as it does for a frozen dataclass, and
they compare and hash by value as frozen ones do.
"""

from dataclasses import dataclass, field
from typing import TypeVar, dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def immutable(cls: type[T]) -> type[T]:
    return dataclass(slots=True, unsafe_hash=True)(cls)
