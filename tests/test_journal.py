"""The change journal: only intact records count, torn tails are cut, resets are atomic."""

import os

import pytest

from assetstore.backends._journal import Journal, decode, encode
from assetstore.errors import IntegrityError


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "metadata.json.journal")
    yield journal
    journal.close()


def test_records_roundtrip_and_torn_lines_do_not_count():
    lines = encode({"seq": 1, "x": "a\tb\nc"}) + encode({"seq": 2})
    assert decode(lines) == ([{"seq": 1, "x": "a\tb\nc"}, {"seq": 2}], len(lines))
    for cut in range(1, len(encode({"seq": 2}))):
        torn = lines[:-cut]
        records, end = decode(torn)
        assert records == [{"seq": 1, "x": "a\tb\nc"}]
        assert end == len(encode({"seq": 1, "x": "a\tb\nc"}))
    flipped = bytearray(lines)
    flipped[3] ^= 0x01
    assert decode(bytes(flipped)) == ([], 0)


def test_missing_journal_reads_empty(journal):
    read = journal.read()
    assert read.file_id is None and read.base == 0 and read.records == []


def test_append_read_incrementally(journal):
    first = journal.reset(base=5)
    assert first.base == 5 and first.records == []
    end = journal.append({"seq": 6, "ops": []}, after=first.end)
    end = journal.append({"seq": 7, "ops": []}, after=end)
    whole = journal.read()
    assert [r["seq"] for r in whole.records] == [6, 7] and whole.end == end
    since = journal.read(whole.file_id, first.end + len(encode({"seq": 6, "ops": []})))
    assert [r["seq"] for r in since.records] == [7]
    assert journal.read(whole.file_id, end).records == []


def test_torn_tail_is_ignored_then_cut_by_the_next_append(journal):
    start = journal.reset(base=0).end
    end = journal.append({"seq": 1}, after=start)
    with open(journal.path, "ab") as file:
        file.write(encode({"seq": 2})[:-4])  # a crash in the middle of an append
    read = journal.read()
    assert [r["seq"] for r in read.records] == [1]
    assert read.end == end and read.size > end
    new_end = journal.append({"seq": 2}, after=read.end)
    assert [r["seq"] for r in journal.read().records] == [1, 2]
    assert os.path.getsize(journal.path) == new_end


def test_reset_replaces_the_file(journal):
    journal.append({"seq": 1}, after=journal.reset(base=0).end)
    before = journal.read()
    after = journal.reset(base=1)
    assert after.file_id != before.file_id
    assert after.base == 1 and after.records == []
    assert journal.read(before.file_id, before.end).base == 1  # a new file: read from 0
    assert [p.name for p in journal.path.parent.iterdir()] == [journal.path.name]


def test_failed_fsync_leaves_no_record(journal, monkeypatch):
    start = journal.reset(base=0).end

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        journal.append({"seq": 1}, after=start)
    monkeypatch.undo()
    assert journal.read().records == []


def test_a_file_without_header_is_refused(journal):
    journal.path.write_bytes(encode({"seq": 1}))
    with pytest.raises(IntegrityError):
        journal.read()
