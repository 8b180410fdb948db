"""jsoncodec: orjson's speed with integers of any size exact (the pieces; end to end in
integration_tests/test_big_integers.py)."""

from __future__ import annotations

import orjson
import pytest

from source_solidafy import jsoncodec


@pytest.mark.parametrize("number", [10**20, -(2**63) - 1, 2**64, -(10**40), 10**400])
def test_big_integers_round_trip_exactly(number):
    text = f'{{"n": {number}, "list": [{number}, 1.5, "{number}"]}}'.encode()
    value = jsoncodec.loads(text)
    assert value == {"n": number, "list": [number, 1.5, str(number)]}
    assert type(value["n"]) is int
    assert jsoncodec.dumps(value) == text.replace(b" ", b"")


def test_what_orjson_keeps_takes_the_fast_path():
    for text in (b"[9999999999999999999, -922337203685477580, 1234567890123456789.5]", b'{"s": "x"}'):
        assert not jsoncodec.might_lose_digits(text)
        assert jsoncodec.loads(text) == orjson.loads(text)
    assert jsoncodec.might_lose_digits(b"[-9223372036854775809]")
    assert jsoncodec.might_lose_digits(b"[18446744073709551615]")  # orjson keeps it; checked anyway
    assert jsoncodec.might_lose_digits(b'["12345678901234567890"]')  # a false alarm costs time, not digits


def test_invalid_json_raises_orjsons_error():
    with pytest.raises(jsoncodec.JSONDecodeError):
        jsoncodec.loads(b"[100000000000000000000,")
    with pytest.raises(jsoncodec.JSONDecodeError):
        jsoncodec.loads(b"[NaN, 100000000000000000000]")  # the standard library alone would accept NaN


def test_more_digits_than_python_reads_is_a_decode_error():
    with pytest.raises(jsoncodec.JSONDecodeError):
        jsoncodec.loads(b"[" + b"9" * 5000 + b"]")


def test_too_deep_for_the_exact_parser_is_a_decode_error():
    with pytest.raises(jsoncodec.JSONDecodeError, match="nested too deeply"):
        jsoncodec.loads(b"[" * 1020 + b"100000000000000000000" + b"]" * 1020)


def test_dumps_keeps_options_and_default():
    out = jsoncodec.dumps({"a": [10**20], "b": object}, default=lambda v: "obj",
                          option=orjson.OPT_APPEND_NEWLINE)
    assert out == b'{"a":[100000000000000000000],"b":"obj"}\n'
    with pytest.raises(TypeError):
        jsoncodec.dumps({"a": 10**20, "b": object()})  # no default: orjson's own error


def test_the_quick_looks_never_miss_a_run_of_twenty() -> None:
    """might_lose_digits against a plain search for 20 digits (or ``-``) in a row, on random texts made of
    digits, ``-`` and the bytes that break runs in date-times and JSON, with runs at every offset."""
    import random
    import re

    run = re.compile(rb"[0-9-]{20}")
    rng = random.Random(16)
    alphabet = b"0123456789-T:.,\" "
    for n in range(20_000):
        size = rng.randrange(20, 120)
        text = bytearray(rng.choice(alphabet) for _ in range(size))
        if n % 3 == 0:  # a run of 20-23 digits placed at any offset
            at, length = rng.randrange(0, size), rng.randrange(20, 24)
            text[at:at + length] = bytes(rng.choice(b"0123456789") for _ in range(length))
        data = bytes(text)
        if run.search(data):
            assert jsoncodec.might_lose_digits(data), data
    assert not jsoncodec.might_lose_digits(b'{"at": "2024-01-01T00:00:00.000Z", "n": 1700000000}' * 50)
