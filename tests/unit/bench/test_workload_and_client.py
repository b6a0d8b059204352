from bench.http_client import parse_head, request_bytes
from bench.workload import FLAG_POSITION, interleave, nhs_number, patient_feed
from shared.nhs_number import is_valid_nhs_number


def test_benchmark_nhs_numbers_are_valid_and_distinct() -> None:
    numbers = [nhs_number(seed) for seed in range(200)]
    assert len(set(numbers)) == 200
    assert all(is_valid_nhs_number(number) for number in numbers)


def test_a_patient_feed_sends_the_flagging_secondary_after_the_primary() -> None:
    feed = patient_feed(1, routine=4)
    assert [r["resourceType"] for r in feed[:3]] == ["Patient", "Condition", "Condition"]
    assert feed[FLAG_POSITION]["id"] == "secondary-1"
    assert len(feed) == 7


def test_interleaving_keeps_each_patients_resources_in_order_and_sends_all() -> None:
    order = list(interleave(first=1, patients=5, routine=2, lanes=3))
    assert len(order) == 5 * 5
    for number in range(1, 6):
        assert [pos for n, pos in order if n == number] == [0, 1, 2, 3, 4]
    assert order[:3] == [(1, 0), (2, 0), (3, 0)]


def test_requests_carry_their_length_and_responses_give_status_and_length() -> None:
    raw = request_bytes("POST", "/fhir", "h:1", {"X-A": "b"}, b"{}")
    assert raw.startswith(b"POST /fhir HTTP/1.1\r\nHost: h:1\r\nContent-Length: 2\r\n")
    assert raw.endswith(b"\r\n\r\n{}")
    assert parse_head(b"HTTP/1.1 201 Created\r\ncontent-length: 17\r\nx: y") == (201, 17)
