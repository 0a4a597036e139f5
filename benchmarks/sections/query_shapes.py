"""The filters the query-engine section measures: every operator family alone, then
combined, each with a hand-written Python predicate that answers the same question for the
benchmark's documents (the speed a filter engine should approach).

The families: comparisons, ``$in``, ``$nin``, ``$exists``, ``$type``, ``$regex``,
``$elemMatch`` on scalars and on documents, ``$all``, ``$size``, ``$mod``, ``$not``,
``$and``, ``$or``, ``$nor``, dot paths through arrays, positional paths and ``$expr``.
Combinations are generated: each pair of a few families under ``$and`` and ``$or``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Matcher = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Shape:
    """One filter, what it exercises, and the predicate a person would write for it."""

    label: str
    filter: dict[str, Any]
    hand: Matcher


def _meta(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    return doc.get("asset_metadata") or {}


_MODEL_7 = re.compile("model1.*7", re.IGNORECASE)

SINGLE: list[Shape] = [
    Shape(
        "$eq top-level",
        {"asset_name": "org3/model53"},
        lambda d: d.get("asset_name") == "org3/model53",
    ),
    Shape(
        "$eq nested",
        {"asset_metadata.framework": "pytorch"},
        lambda d: _meta(d).get("framework") == "pytorch",
    ),
    Shape(
        "$eq in array",
        {"asset_tags": "image"},
        lambda d: "image" in d.get("asset_tags", ()),
    ),
    Shape(
        "$ne",
        {"asset_metadata.framework": {"$ne": "pytorch"}},
        lambda d: _meta(d).get("framework") != "pytorch",
    ),
    Shape(
        "$gt number",
        {"asset_metadata.params": {"$gt": 100_000_000}},
        lambda d: _meta(d).get("params", 0) > 100_000_000,
    ),
    Shape(
        "range $gte/$lt",
        {"asset_metadata.params": {"$gte": 10_000_000, "$lt": 100_000_000}},
        lambda d: 10_000_000 <= _meta(d).get("params", 0) < 100_000_000,
    ),
    Shape(
        "$gte string",
        {"asset_version.version": {"$gte": "2"}},
        lambda d: d["asset_version"]["version"] >= "2",
    ),
    Shape(
        "$in",
        {"asset_metadata.framework": {"$in": ["jax", "onnx"]}},
        lambda d: _meta(d).get("framework") in ("jax", "onnx"),
    ),
    Shape(
        "$in on array",
        {"asset_tags": {"$in": ["sample", "image"]}},
        lambda d: any(t in ("sample", "image") for t in d.get("asset_tags", ())),
    ),
    Shape(
        "$nin",
        {"asset_metadata.license": {"$nin": ["mit", "proprietary"]}},
        lambda d: _meta(d).get("license") not in ("mit", "proprietary"),
    ),
    Shape(
        "$exists",
        {"asset_metadata.layers": {"$exists": True}},
        lambda d: "layers" in _meta(d),
    ),
    Shape(
        "$exists + $ne",
        {"asset_metadata.author": {"$exists": True, "$ne": "author1"}},
        lambda d: "author" in _meta(d) and _meta(d)["author"] != "author1",
    ),
    Shape(
        "$type",
        {"asset_metadata.params": {"$type": "int"}},
        lambda d: type(_meta(d).get("params")) is int,
    ),
    Shape(
        "$regex prefix",
        {"asset_name": {"$regex": "^org1/"}},
        lambda d: d.get("asset_name", "").startswith("org1/"),
    ),
    Shape(
        "$regex /i",
        {"asset_name": {"$regex": "model1.*7", "$options": "i"}},
        lambda d: _MODEL_7.search(d.get("asset_name", "")) is not None,
    ),
    Shape(
        "$elemMatch scalars",
        {"asset_tags": {"$elemMatch": {"$gte": "s", "$lt": "t"}}},
        lambda d: any("s" <= t < "t" for t in d.get("asset_tags", ())),
    ),
    Shape(
        "$elemMatch documents",
        {"asset_metadata.layers": {"$elemMatch": {"kind": "conv", "units": {"$gt": 256}}}},
        lambda d: any(
            layer.get("kind") == "conv" and layer.get("units", 0) > 256
            for layer in _meta(d).get("layers", ())
        ),
    ),
    Shape(
        "$all",
        {"asset_tags": {"$all": ["image", "vision"]}},
        lambda d: {"image", "vision"} <= set(d.get("asset_tags", ())),
    ),
    Shape("$size", {"asset_tags": {"$size": 2}}, lambda d: len(d.get("asset_tags", ())) == 2),
    Shape("$mod", {"revision": {"$mod": [2, 1]}}, lambda d: d.get("revision", 0) % 2 == 1),
    Shape(
        "$not",
        {"asset_metadata.params": {"$not": {"$gt": 100_000_000}}},
        lambda d: not _meta(d).get("params", 0) > 100_000_000,
    ),
    Shape(
        "path through array",
        {"asset_metadata.layers.kind": "attention"},
        lambda d: any(layer.get("kind") == "attention" for layer in _meta(d).get("layers", ())),
    ),
    Shape(
        "positional path",
        {"asset_tags.0": "image"},
        lambda d: bool(d.get("asset_tags")) and d["asset_tags"][0] == "image",
    ),
    Shape(
        "$expr two fields",
        {
            "$expr": {
                "$gt": ["$asset_metadata.metrics.accuracy", "$asset_metadata.metrics.baseline"]
            }
        },
        lambda d: _meta(d)["metrics"]["accuracy"] > _meta(d)["metrics"]["baseline"],
    ),
]

#: The families combined pairwise (their first shape each).
_COMBINED = ["$eq nested", "$gt number", "$in on array", "$regex prefix", "$exists + $ne"]


def _pairs() -> list[Shape]:
    by_label = {shape.label: shape for shape in SINGLE}
    shapes = []
    for first, second in itertools.combinations(_COMBINED, 2):
        a, b = by_label[first], by_label[second]
        shapes.append(
            Shape(
                f"$and({first}, {second})",
                {"$and": [a.filter, b.filter]},
                lambda d, a=a, b=b: a.hand(d) and b.hand(d),
            )
        )
        shapes.append(
            Shape(
                f"$or({first}, {second})",
                {"$or": [a.filter, b.filter]},
                lambda d, a=a, b=b: a.hand(d) or b.hand(d),
            )
        )
    a, b = by_label["$eq nested"], by_label["$in on array"]
    shapes.append(
        Shape(
            "$nor($eq nested, $in on array)",
            {"$nor": [a.filter, b.filter]},
            lambda d: not (a.hand(d) or b.hand(d)),
        )
    )
    shapes.append(
        Shape(
            "implicit $and of three fields",
            {
                "asset_metadata.framework": "pytorch",
                "asset_metadata.params": {"$gt": 50_000_000},
                "asset_tags": {"$in": ["image", "vision"]},
            },
            lambda d: (
                by_label["$eq nested"].hand(d)
                and _meta(d).get("params", 0) > 50_000_000
                and any(t in ("image", "vision") for t in d.get("asset_tags", ()))
            ),
        )
    )
    return shapes


SHAPES: list[Shape] = SINGLE + _pairs()


__all__ = ["SHAPES", "Shape"]
