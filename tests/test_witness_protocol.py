"""The add-checkpoint request codec (c2sp.org/tlog-witness): the specification's example parses,
round trips hold, strictness has one-line reasons, and any input at all gives either a valid
request or a BadRequest; origin file names are injective and safe."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger import Checkpoint, generate_signer
from custodes.witness import (
    MAX_PROOF_LINES,
    AddCheckpoint,
    BadRequest,
    WitnessError,
    format_add_checkpoint,
    format_size,
    parse_add_checkpoint,
    parse_size,
)
from custodes.witness.state import escape_origin, unescape_origin

# The example request of the specification (its signatures are only well-formed here).
SPEC_BODY = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks"
    "+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
)
LOG = generate_signer("log.example/x")
NOTE = Checkpoint("log.example/x", 9, bytes(range(32))).sign(LOG).format()


def test_the_specification_example_parses_and_round_trips() -> None:
    request = parse_add_checkpoint(SPEC_BODY)
    assert request.old_size == 20852014
    assert len(request.proof) == 4 and all(len(h) == 32 for h in request.proof)
    assert request.checkpoint.startswith("example.com/behind-the-sofa\n20852163\n")
    assert format_add_checkpoint(*request) == SPEC_BODY
    assert parse_add_checkpoint(SPEC_BODY.encode()) == request


def test_a_request_without_proof_lines() -> None:
    body = format_add_checkpoint(0, [], NOTE)
    assert body == "old 0\n\n" + NOTE
    assert parse_add_checkpoint(body) == AddCheckpoint(0, (), NOTE)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "no complete old size line"),
        ("old 5", "no complete old size line"),
        ("new 5\n\n" + NOTE, "does not start with an 'old <size>' line"),
        ("old 05\n\n" + NOTE, "leading zeros"),
        ("old -1\n\n" + NOTE, "not a decimal number"),
        ("old 18446744073709551616\n\n" + NOTE, r"larger than 2\^64-1"),
        ("old 1\n" + NOTE, "not valid base64"),
        ("old 1\nAAAA\n\n" + NOTE, "3 bytes, not 32"),
        ("old 1\n" + "A" * 43 + "=\n", "no empty line"),
        ("old 1\n\n", "no blank line"),
        ("old 1\n\n" + NOTE.replace("\n9\n", "\n09\n"), "leading zeros"),
        ("old 1\r\n\n" + NOTE, "not a decimal number"),
        (b"old 1\n\n\xff", "not valid UTF-8"),
    ],
)
def test_malformed_requests_are_refused_in_one_line(body: str | bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason) as caught:
        parse_add_checkpoint(body)
    assert "\n" not in str(caught.value)
    assert caught.value.status == 400


def test_at_most_63_proof_lines() -> None:
    hashes = [bytes([i]) * 32 for i in range(MAX_PROOF_LINES + 1)]
    assert len(parse_add_checkpoint(format_add_checkpoint(1, hashes[:-1], NOTE)).proof) == 63
    body = "old 1\n" + "".join(f"{h}\n" for h in SPEC_BODY.split("\n")[1:2] * 64) + "\n" + NOTE
    with pytest.raises(BadRequest, match="more than 63 proof lines"):
        parse_add_checkpoint(body)
    with pytest.raises(BadRequest):
        format_add_checkpoint(1, hashes, NOTE)


def test_the_conflict_body() -> None:
    assert format_size(8) == "8\n"
    assert parse_size(b"8\n") == 8
    for bad in ("8", "08\n", "x\n", b"\xff\n"):
        with pytest.raises(WitnessError):
            parse_size(bad)


def _check(body: str | bytes) -> None:
    try:
        request = parse_add_checkpoint(body)
    except BadRequest as error:
        assert str(error) and "\n" not in str(error)
        return
    text = body if isinstance(body, str) else body.decode()
    assert format_add_checkpoint(*request) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_bytes(body: bytes) -> None:
    _check(body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_text(body: str) -> None:
    _check(body)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(SPEC_BODY)), st.integers(0, 3), st.text(max_size=3)),
        max_size=4,
    )
)
def test_fuzz_mutations_of_the_example(edits: list[tuple[int, int, str]]) -> None:
    body = SPEC_BODY
    for at, cut, insert in edits:
        body = body[:at] + insert + body[at + cut :]
    _check(body)
    _check(body.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_origin_file_names_are_injective_and_safe(origin: str) -> None:
    stem = escape_origin(origin)
    assert re.fullmatch(r"(?:[a-z0-9_.-]|%[0-9A-F]{2})+", stem)
    assert not stem.startswith(".")
    assert unescape_origin(stem) == origin


def test_file_names_we_do_not_write_are_not_origins() -> None:
    assert escape_origin("police.example/Custodes") == "police.example%2F%43ustodes"
    assert escape_origin(".hidden") == "%2Ehidden"
    for stem in ("%2f", "%4", "%zz", "A", "%2E%2E" + "%FF"):
        assert unescape_origin(stem) is None
