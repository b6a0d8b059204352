import pytest

from shared.nhs_number import check_digit, is_valid_nhs_number


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "4010232137", "9000000009"])
def test_numbers_with_a_correct_check_digit_are_valid(number: str) -> None:
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    ["9434765918", "943476591", "94347659190", "94347659a9", "", "１２３４５６７８９０"],
)
def test_wrong_length_digits_or_check_digit_are_invalid(number: str) -> None:
    assert not is_valid_nhs_number(number)


def test_a_remainder_giving_ten_has_no_valid_check_digit() -> None:
    # 1,2,3,...: find nine digits whose check would be 10 and confirm no tenth digit makes it valid
    nine = next(f"{n:09d}" for n in range(100000000, 100001000) if check_digit(f"{n:09d}") is None)
    assert not any(is_valid_nhs_number(nine + str(d)) for d in range(10))


@pytest.mark.parametrize("number", ["0000000000", "1111111111"])
def test_placeholder_numbers_of_one_repeated_digit_are_refused_though_their_check_digit_fits(
    number: str,
) -> None:
    assert check_digit(number[:9]) == int(number[9])
    assert not is_valid_nhs_number(number)
