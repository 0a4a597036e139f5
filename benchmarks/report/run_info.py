"""What the report's head says about the run: when, where, what changed, what failed."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..records import Results
from ..registry import NAMES


def context(results: Results) -> dict[str, Any]:
    """The template's ``run``: the facts of the run that need more than a field's value."""
    meta = results.meta
    git, end = meta.git, meta.git_end
    tree_changed = end is not None and (end.commit, end.changed_library_files) != (
        git.commit,
        git.changed_library_files,
    )
    states = {(g.commit, tuple(g.changed_library_files)) for g in meta.section_git.values()}
    return {
        "duration_min": (meta.duration_s or 0) / 60,
        "versions": ", ".join(f"{k} {v}" for k, v in meta.versions.items() if v),
        "load_end": meta.load_end or ["?"] * 3,
        "commit": (git.commit or "?")[:12],
        "tree_changed": tree_changed,
        "end_commit": ((end.commit if end else None) or "?")[:12],
        "end_files": end.changed_library_files if end else [],
        "library_changed_between_sections": len(states) > 1,
        "section_git": {
            name: {"commit": (g.commit or "?")[:12], "dirty": g.changed_library_files}
            for name, g in meta.section_git.items()
        },
        "not_run": [name for name in NAMES if name not in meta.sections],
        "settings_json": json.dumps(dataclasses.asdict(meta.settings)),
    }
