"""The sync section's tables, and the targets of issue 15 (the sync's, and those of the
transfers section it names: S3 and HTTP uploads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records import Results
from ..sections.sync import GetAsset, LargeSync, SmallSync
from .markdown import table


@dataclass
class Goal:
    """One target of issue 15: what, the goal, what was measured, and whether it is met."""

    target: str
    goal: str
    measured: str = ""
    met: bool | None = None  # None: not measured (the note says why)
    note: str = ""


def small_table(data: SmallSync) -> str:
    base = data.baseline_scaled_s
    rows = [
        [
            f"one request per asset (timed on {data.baseline_sample:,}, scaled)",
            f"{base:,.1f}",
            f"{data.baseline_per_asset_ms:.2f} ms",
            "",
            f"{data.baseline.peak_mb:,.0f} MB",
        ],
        [
            "`assetstore.sync`, first run",
            f"{data.first.seconds:,.1f}",
            f"{data.first.seconds / data.assets * 1000:.2f} ms",
            f"{base / data.first.seconds:.1f}x faster",
            f"{data.first.peak_mb:,.0f} MB",
        ],
        [
            "`assetstore.sync`, second run (nothing new)",
            f"{data.noop.seconds:,.2f}",
            "",
            f"{data.noop.seconds / data.first.seconds:.1%} of the first",
            f"{data.noop.peak_mb:,.0f} MB",
        ],
    ]
    headers = [f"{data.assets:,} assets of 1 KiB", "seconds", "per asset", "", "peak RSS"]
    return table(headers, rows, "lrrrr")


def large_table(data: LargeSync) -> str:
    rows = []
    for name in ("plain upload", "plain download", "sync push", "sync pull"):
        run = data.runs[name]
        rate = f"{data.size_mb / run.seconds:,.0f}"
        rows.append([name, f"{run.seconds:.2f}", rate, f"{run.peak_mb:.0f} MB"])
    plain = data.seconds("plain upload", "plain download")
    ours = data.seconds("sync push", "sync pull")
    rows.append(["plain, both ways", f"{plain:.2f}", f"{2 * data.size_mb / plain:,.0f}", ""])
    rows.append(["sync, both ways", f"{ours:.2f}", f"{2 * data.size_mb / ours:,.0f}", ""])
    headers = [f"{data.size_mb:,} MiB in {data.files} files", "seconds", "MB/s", "peak RSS"]
    return table(headers, rows, "lrrr")


def get_table(data: GetAsset) -> str:
    rows = [
        [
            label,
            f"{rate.rps:,.0f}",
            f"{rate.p50_ms:.2f} ms",
            f"{rate.p99_ms:.2f} ms",
            ", ".join(f"{r:,.0f}" for r in rate.rounds),
        ]
        for label, rate in (
            ("`assetstore serve`: GET /asset/{uri}", data.store),
            ("bare Starlette JSON endpoint", data.bare),
        )
    ]
    headers = [
        f"{data.connections} load processes, {data.seconds:g} s a round",
        "requests/s (median)",
        "p50",
        "p99",
        "each round",
    ]
    return table(headers, rows, "lrrrr")


def goals(results: Results) -> list[Goal]:
    """Every target of issue 15 against ``results``."""
    rows: list[Goal] = []
    sync = results.sync
    small = sync.small if sync else None
    speed = Goal("sync of small assets to a served store", ">= 10x one request per asset")
    noop = Goal("the second run, with nothing new", "<= 5% of the first")
    if small is not None:
        ratio = small.baseline_scaled_s / small.first.seconds
        speed.measured, speed.met = f"{ratio:.1f}x ({small.assets:,} assets)", ratio >= 10
        share = small.noop.seconds / small.first.seconds
        noop.measured, noop.met = f"{share:.1%} ({small.noop.seconds:.2f} s)", share <= 0.05
    rows += [speed, noop]
    large = sync.large if sync else None
    both = Goal("sync of large files local -> HTTP -> local", ">= 0.7x plain streaming HTTP")
    if large is not None:
        ratio = large.seconds("plain upload", "plain download") / large.seconds(
            "sync push", "sync pull"
        )
        both.measured, both.met = f"{ratio:.2f}x ({large.size_mb:,} MiB)", ratio >= 0.7
    rows.append(both)
    transfers = results.transfers
    s3 = transfers.s3 if transfers and not transfers.s3.error else None
    s3_speed = Goal("S3 upload through the store", ">= 0.9x boto3 upload_file")
    s3_rss = Goal("S3 upload: the client's peak RSS", "<= boto3's + 30 MB")
    if s3 is not None:
        ours, theirs = s3.runs["store upload"], s3.runs["boto3 upload_file"]
        s3_speed.measured = f"{theirs.seconds / ours.seconds:.2f}x"
        s3_speed.met = theirs.seconds / ours.seconds >= 0.9
        s3_rss.measured = f"{ours.peak_mb:.0f} MB against {theirs.peak_mb:.0f} MB"
        s3_rss.met = ours.peak_mb <= theirs.peak_mb + 30
    rows += [s3_speed, s3_rss]
    http = transfers.http if transfers and not transfers.http.error else None
    up = Goal("HTTP upload through `assetstore serve`", ">= 0.8x the direct upload")
    rss = Goal("the server's RSS during the uploads", "< 100 MB")
    if http is not None:
        ours, theirs = http.runs["upload via service"], http.runs["upload direct"]
        ratio = theirs.seconds / ours.seconds
        up.measured, up.met = f"{ratio:.2f}x", ratio >= 0.8
        if http.server_rss is not None:
            peak = http.server_rss.peak_during_upload_mb
            rss.measured, rss.met = f"{peak:.0f} MB", peak < 100
    rows += [up, rss]
    get = sync.get if sync else None
    rate = Goal("`GET /asset/{uri}`", ">= 50% of a bare Starlette endpoint's requests/s")
    if get is not None:
        share = get.store.rps / get.bare.rps
        rate.measured = f"{share:.0%} ({get.store.rps:,.0f} against {get.bare.rps:,.0f})"
        rate.met = share >= 0.5
    rows.append(rate)
    for row in rows:
        if row.met is None:
            row.note = "not run"
    return rows


def goals_table(rows: list[Goal]) -> str:
    body = [
        [
            row.target,
            row.goal,
            row.measured or row.note,
            "n/a" if row.met is None else ("**met**" if row.met else "**not met**"),
        ]
        for row in rows
    ]
    return table(["target (issue 15)", "goal", "measured", "met?"], body, "llrc")


def context(results: Results) -> dict[str, Any] | None:
    """The template's ``sync``; None when the section did not run."""
    data = results.sync
    if data is None:
        return None
    return {
        "data": data,
        "small": small_table(data.small) if data.small else None,
        "large": large_table(data.large) if data.large else None,
        "load": get_table(data.get) if data.get else None,
        "goals": goals_table(goals(results)),
    }
