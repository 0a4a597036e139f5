"""The change journal: only intact records count, a torn tail is told from damage, torn
tails are cut and damage never is, resets are atomic, a failed append leaves nothing."""

import os

import pytest

from assetstore.backends._journal import Journal, decode, encode
from assetstore.errors import DamageError

HEADER = encode({"base": 0})
FIRST = encode({"seq": 1, "x": "a\tb\nc"})
SECOND = encode({"seq": 2})
THIRD = encode({"seq": 3, "ops": [["del", "k"]]})


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "metadata.json.journal")
    yield journal
    journal.close()


def seqs(found):
    return [entry.record["seq"] for entry in found.entries]


def test_records_roundtrip():
    data = HEADER + FIRST + SECOND
    found = decode(data)
    assert found.base == 0 and found.damage == [] and found.torn == 0
    assert [entry.record for entry in found.entries] == [{"seq": 1, "x": "a\tb\nc"}, {"seq": 2}]
    assert found.end == len(data) and found.seq == 2 and found.line == 3


def test_every_cut_of_the_last_line_is_a_torn_tail():
    for cut in range(1, len(SECOND)):
        found = decode(HEADER + FIRST + SECOND[:-cut])
        assert found.damage == [], cut
        assert seqs(found) == [1] and found.torn == len(SECOND) - cut


def test_every_flipped_bit_is_damage_never_a_torn_tail():
    """A single bit flipped anywhere in a journal: detected, whichever byte it hits (the
    checksum, a tab, a newline turned into another byte or another byte into a newline)."""
    data = HEADER + FIRST + SECOND + THIRD
    for bit in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        found = decode(bytes(flipped))
        assert found.damage, f"bit {bit} (byte {bit // 8}) was not detected"
        assert found.torn == 0
        assert len(found.entries) <= 3


def test_damage_followed_by_intact_records_is_reported_with_them():
    flipped = bytearray(HEADER + FIRST + SECOND + THIRD)
    flipped[len(HEADER) + 3] ^= 0x01  # inside the first change
    found = decode(bytes(flipped), path="j")
    assert seqs(found) == [] and found.end == len(HEADER)
    assert found.intact_after == 2
    assert str(found.damage[0]) == (
        f"j, line 2 (byte {len(HEADER)}): the record does not match its checksum"
    )


def test_a_flipped_last_newline_is_damage():
    data = bytearray(HEADER + FIRST + SECOND)
    data[-1] ^= 0x02
    found = decode(bytes(data))
    assert [d.reason for d in found.damage] == ["the last record's line end is damaged"]


def test_out_of_sequence_and_headerless_journals_are_damage():
    assert decode(HEADER + SECOND).damage[0].reason == "change 2 where change 1 was expected"
    assert decode(HEADER + FIRST + FIRST).damage[0].reason == (
        "change 1 where change 2 was expected"
    )
    assert decode(FIRST).damage[0].reason == "the first line is not a journal header"
    assert decode(b"").damage[0].reason == "the journal is empty: no header"
    assert decode(HEADER[:-3]).damage[0].reason == "the header is incomplete"


def test_missing_journal_reads_empty(journal):
    read = journal.read()
    assert read.cursor is None and read.entries == [] and read.damage == []


def test_append_read_incrementally(journal):
    first = journal.reset(base=5)
    assert first.base == 5 and first.seq == 5
    cursor = journal.append({"seq": 6, "ops": []}, after=first)
    cursor = journal.append({"seq": 7, "ops": []}, after=cursor)
    whole = journal.read()
    assert seqs(whole) == [6, 7] and whole.cursor == cursor and whole.from_start
    since = journal.read(first)
    assert seqs(since) == [6, 7] and not since.from_start
    assert journal.read(cursor).entries == []
    with pytest.raises(ValueError, match="cannot follow"):
        journal.append({"seq": 9}, after=cursor)


def test_torn_tail_is_ignored_then_cut_by_the_next_append(journal):
    cursor = journal.append({"seq": 1}, after=journal.reset(base=0))
    with open(journal.path, "ab") as file:
        file.write(encode({"seq": 2})[:-4])  # a crash in the middle of an append
    read = journal.read()
    assert seqs(read) == [1] and read.cursor == cursor and read.torn > 0
    new = journal.append({"seq": 2}, after=read.cursor, torn=read.torn)
    assert seqs(journal.read()) == [1, 2]
    assert os.path.getsize(journal.path) == new.end


def test_damage_is_never_cut_off(journal):
    """A writer that was told of a torn tail refuses to cut bytes it was not told of."""
    cursor = journal.append({"seq": 1}, after=journal.reset(base=0))
    with open(journal.path, "ab") as file:
        file.write(b"garbage\n" + encode({"seq": 2}))
    size = os.path.getsize(journal.path)
    read = journal.read()
    assert read.damage and read.intact_after == 1
    with pytest.raises(DamageError, match="changed while the writers' lock was held"):
        journal.append({"seq": 2}, after=cursor)
    assert os.path.getsize(journal.path) == size


def test_reset_replaces_the_file(journal):
    journal.append({"seq": 1}, after=journal.reset(base=0))
    before = journal.read()
    after = journal.reset(base=1)
    assert after.file_id != before.cursor.file_id
    assert after.base == 1 and after.seq == 1
    again = journal.read(before.cursor)
    assert again.from_start and again.cursor.base == 1  # a new file: read from its start
    assert [p.name for p in journal.path.parent.iterdir()] == [journal.path.name]


def test_a_journal_rewritten_in_place_is_read_again_from_its_start(journal):
    """Readers check the bytes they already applied: a journal cut back and written again
    (by a program that ignores the protocol) is re-read whole, never misread."""
    start = journal.reset(base=0)
    first = journal.append({"seq": 1, "v": "phantom"}, after=start)
    reader = Journal(journal.path)
    try:
        assert [e.record["v"] for e in reader.read().entries] == ["phantom"]
        os.truncate(journal.path, start.end)
        cursor = journal.append({"seq": 1, "v": "real"}, after=start)
        journal.append({"seq": 2, "v": "next"}, after=cursor)
        read = reader.read(first)
        assert read.from_start
        assert [e.record["v"] for e in read.entries] == ["real", "next"]
    finally:
        reader.close()


@pytest.mark.parametrize("failures", [1, 100], ids=["once", "always"])
def test_failed_fsync_leaves_no_record_and_a_new_file(journal, monkeypatch, failures):
    """The record is cut off; the durable records move to a new file (when the disk still
    lets us write one), so the file whose writeback failed is never appended to again."""
    cursor = journal.append({"seq": 1}, after=journal.reset(base=0))
    before = os.stat(journal.path).st_ino
    real_fsync = os.fsync
    left = [failures]

    def broken_fsync(fd):
        if left[0]:
            left[0] -= 1
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        journal.append({"seq": 2}, after=cursor)
    monkeypatch.undo()
    read = journal.read()
    assert seqs(read) == [1] and read.damage == [] and read.torn == 0
    moved = os.stat(journal.path).st_ino != before
    assert moved == (failures == 1)


def test_failed_write_leaves_no_record(journal, monkeypatch):
    cursor = journal.append({"seq": 1}, after=journal.reset(base=0))
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, memoryview(data)[:5])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError, match="No space"):
        journal.append({"seq": 2}, after=cursor)
    monkeypatch.undo()
    read = journal.read()
    assert seqs(read) == [1] and read.torn == 0 and read.damage == []
