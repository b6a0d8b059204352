"""`@immutable` keeps what frozen dataclasses promise: the type checker refuses an assignment to a
field, and values compare and hash by content."""

from mypy import api

from services.classifier.facts import Fact
from services.classifier.immutable import immutable

ASSIGNS_A_FIELD = """
from services.classifier.immutable import immutable

@immutable
class Point:
    x: int

Point(1).x = 2
"""


def test_the_type_checker_refuses_an_assignment_to_a_field() -> None:
    out, _, status = api.run(["--strict", "--no-incremental", "-c", ASSIGNS_A_FIELD])
    assert status == 1, out
    assert 'Property "x" defined in "Point" is read-only' in out


def test_values_compare_and_hash_by_content() -> None:
    first = Fact("Condition/a", (1, ""), "1", "secondary", "confirmed", site="liver")
    again = Fact("Condition/a", (1, ""), "1", "secondary", "confirmed", site="liver")
    other = Fact("Condition/a", (1, ""), "1", "secondary", "confirmed", site="lung")
    assert first == again and hash(first) == hash(again) and first != other
    assert len({first, again, other}) == 2


def test_fields_are_slots_so_no_attribute_can_be_added() -> None:
    @immutable
    class Point:
        x: int

    assert not hasattr(Point(1), "__dict__")
