"""The intake benchmark's messages (benchmarks/bench_intake.py) are what
they claim to be, read by casectl's own mail parser: new cases with their
Nordic letters decoded, replies tagged with their case and answering the
desk's mail, auto-replies recognised, duplicates byte-for-byte copies. The
benchmark itself needs a 10,000-case repository and minutes; this checks
its input in a second."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from casectl import mailparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_intake  # noqa: E402

CASES = [
    bench_intake.OpenCase("6FG4Q0JQVP", "Citrix krasjer når journalen åpnes",
                          "Torbjørn Fjellheim", "torbjorn.fjellheim@bergen.kommune.example",
                          "no"),
    bench_intake.OpenCase("5P6KWNGAQJ", "Skrivaren på avdelning 4 skriver inte ut",
                          "Märta Öberg", "marta.oberg@region.example.se", "sv"),
    bench_intake.OpenCase("68AJ7MFAJS", "Kan ikke logge på Sundhedsplatformen",
                          "Søren Kjær", "soren.kjaer@kommune.example.dk", "da"),
]


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> list[bench_intake.Message]:
    return bench_intake.write_messages(tmp_path_factory.mktemp("mail") / "messages", 200,
                                       CASES, seed=7)


def test_the_mix_is_as_documented(messages: list[bench_intake.Message]) -> None:
    assert Counter(m.kind for m in messages) == {"new": 140, "reply": 40, "auto": 10,
                                                 "duplicate": 10}
    assert messages[0].kind in ("new", "reply")  # a duplicate always has an original before it
    assert [m.number for m in messages] == list(range(1, 201))


def test_each_message_reads_as_its_kind(messages: list[bench_intake.Message]) -> None:
    by_number = {m.number: m for m in messages}
    nordic = 0
    for message in messages:
        raw = message.path.read_bytes()
        mail = mailparse.parse(raw)
        assert mail.message_id and mail.sender_address and mail.subject
        if message.kind == "new":
            assert mail.automatic is None and mail.tags == ()
            assert mail.body.strip()
            nordic += any(letter in mail.subject + mail.body for letter in "æøåäöÆØÅÄÖ")
        elif message.kind == "reply":
            case = next(c for c in CASES if c.id == message.case_id)
            assert mail.tags == (case.id,) and mail.automatic is None
            assert mail.sender_address == case.reporter_email
            assert case.subject in mail.subject  # encoded words decode to the same letters
            assert mail.references and mail.references[0].startswith(f"<{case.id}.")
        elif message.kind == "auto":
            assert mail.automatic is not None
        else:
            original = by_number[message.copy_of or 0]
            assert original.number < message.number
            assert original.kind in ("new", "reply")
            assert raw == original.path.read_bytes()
    assert nordic > 50  # æøå/äö come through the charsets and transfer encodings


def test_the_same_seed_writes_the_same_mix(tmp_path: Path,
                                          messages: list[bench_intake.Message]) -> None:
    again = bench_intake.write_messages(tmp_path / "again", 200, CASES, seed=7)
    assert [(m.kind, m.case_id, m.copy_of) for m in again] == \
        [(m.kind, m.case_id, m.copy_of) for m in messages]
