"""A few flips of the closing measure of issue 11 (``bitflips.py`` runs 100 of each file):
no flipped bit in the journal or in metadata.json is silent, none ends in a traceback, and
none leads gc to delete a file that an acknowledged asset refers to."""

from __future__ import annotations

from bitflips import OUTCOMES, measure


def test_single_bit_flips_are_never_silent():
    results = measure(flips=6, seed=11)
    for name, row in results.items():
        assert row["silent"] == 0, (name, row)
        assert row["crashed"] == 0, (name, row)
        assert row["referenced files deleted"] == 0, (name, row)
        assert sum(row[outcome] for outcome in OUTCOMES) == row["flips"] == 6
