"""Version ordering and range matching for asset versions.

Every string has a place in one total order (:func:`version_key`):

1. unparseable strings come first, in natural order ("a2" < "a10");
2. then semver (``MAJOR.MINOR.PATCH[-pre][+build]``, a leading "v" allowed) and PEP 440
   versions, on one scale: a semver prerelease ``1.0.0-rc.1`` ranks with PEP 440's ``1.0rc1``,
   ``-alpha``/``-beta`` with ``a0``/``b0``, other semver prerelease identifiers by semver 2.0
   §11. Semver-shaped strings get semver meaning, so ``1.0.0-1`` is a prerelease, not a post;
3. build metadata and PEP 440 local labels never change precedence (matching); they only order
   versions of equal precedence, and the raw string breaks any remaining tie.

Specs (:func:`parse_spec`): ``latest`` / ``*`` / ``""``, an exact version, or comma-separated
clauses ANDed together: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``~=`` (PEP 440), ``^`` and
``~`` (npm), wildcards ``1.2.*`` / ``1.x``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from packaging.version import InvalidVersion, Version

from assetstore.errors import InvalidInputError

__all__ = ["VersionSpec", "is_prerelease", "parse_spec", "select", "sort_versions", "version_key"]

_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    rf"[vV]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_ID}(?:\.{_ID})*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
_WILDCARD = re.compile(r"([vV]?\d+(?:\.\d+)*)(?:\.[*xX])+", re.ASCII)
_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>|\^|~)?\s*([^\s,]+)")
_BARE = re.compile(r"[^\s:/<>=!~^][^\s:/]*")
_DIGITS = re.compile(r"(\d+)")
_PHASES = {"a": "alpha", "b": "beta", "rc": "rc"}
_LATEST = frozenset({"", "*", "latest"})


class _Prec(NamedTuple):
    """What versions are ranked and matched by (local labels and build metadata excluded)."""

    epoch: int
    release: tuple[int, ...]  # trailing zeros dropped: 1.0 == 1.0.0
    pre: tuple[Any, ...]  # (0,) a dev-only release, (1, identifiers) a prerelease, (2,) neither
    post: float  # -1 for none
    dev: float  # inf for none


class _Parsed(NamedTuple):
    prec: _Prec
    parts: tuple[int, ...]  # the release numbers as written, for ^, ~, ~= and wildcards
    local: tuple[Any, ...]  # PEP 440 local label or semver build metadata, as a sort key


_Predicate = Callable[[_Parsed], bool]


def _prec(
    epoch: int,
    parts: tuple[int, ...],
    pre: tuple[Any, ...] | None,
    post: int | None,
    dev: int | None,
) -> _Prec:
    release = list(parts)
    while release and release[-1] == 0:
        release.pop()
    rank = (1, pre) if pre is not None else (0,) if post is None and dev is not None else (2,)
    return _Prec(
        epoch, tuple(release), rank, -1 if post is None else post, math.inf if dev is None else dev
    )


def _local_key(label: str | None) -> tuple[Any, ...]:
    # PEP 440: alphanumeric segments sort before numeric ones
    parts = re.split(r"[._-]", label.lower()) if label else []
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts)


@lru_cache(maxsize=4096)
def _parse(version: str) -> _Parsed | None:
    if m := _SEMVER.fullmatch(version):
        parts = (int(m[1]), int(m[2]), int(m[3]))
        # semver §11: numeric identifiers sort before alphanumeric ones
        ids = m[4].split(".") if m[4] else None
        pre = tuple((0, int(i)) if i.isdigit() else (1, i) for i in ids) if ids else None
        return _Parsed(_prec(0, parts, pre, None, None), parts, _local_key(m[5]))
    try:
        v = Version(version)
    except InvalidVersion:
        return None
    pre = None
    if v.pre:
        phase, number = v.pre
        pre = ((1, _PHASES[phase]), (0, number)) if number else ((1, _PHASES[phase]),)
    return _Parsed(_prec(v.epoch, v.release, pre, v.post, v.dev), v.release, _local_key(v.local))


def _is_pre(p: _Prec) -> bool:
    return p.pre[0] < 2 or p.dev != math.inf


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(s) if i % 2 else s for i, s in enumerate(_DIGITS.split(text.casefold())))


def version_key(version: str) -> tuple[Any, ...]:
    """Return the sort key of ``version``: a total order over all strings, never raising."""
    parsed = _parse(version)
    tie = (_natural(version), version)
    return (0, *tie) if parsed is None else (1, parsed.prec, parsed.local, *tie)


def is_prerelease(version: str) -> bool:
    """Whether ``version`` is a PEP 440 pre/dev release or a semver prerelease."""
    parsed = _parse(version)
    return parsed is not None and _is_pre(parsed.prec)


def sort_versions(versions: Iterable[str], *, reverse: bool = False) -> list[str]:
    """Return ``versions`` sorted by :func:`version_key` (ascending unless ``reverse``)."""
    return sorted(versions, key=version_key, reverse=reverse)


def _below(t: _Prec) -> _Prec:
    """Return the exclusive bound of ``<t``: ``t.dev0`` unless ``t`` is a prerelease (PEP 440)."""
    if _is_pre(t):
        return t
    return t._replace(pre=(0,) if t.post < 0 else t.pre, dev=0)


def _above(t: _Prec) -> _Prec:
    """Return the exclusive bound of ``>t``: past ``t``'s post releases unless it names one."""
    return t if t.post >= 0 or t.dev != math.inf else t._replace(post=math.inf)


def _bump(target: _Parsed, index: int) -> _Prec:
    parts = (*target.parts[:index], target.parts[index] + 1)
    return _prec(target.prec.epoch, parts, None, None, None)


def _range(low: _Prec, high: _Prec) -> _Predicate:
    high = _below(high)
    return lambda p: low <= p.prec < high


def _bad(spec: str, clause: str, reason: str) -> InvalidInputError:
    return InvalidInputError(f"invalid version spec {spec!r}: clause {clause!r} {reason}")


def _clause(spec: str, text: str) -> tuple[str, _Predicate, bool, str | None]:
    """Compile one clause: (normalized text, predicate, names a prerelease, exact version)."""
    m = _CLAUSE.fullmatch(text)
    if not m:
        raise _bad(spec, text, "is empty" if not text else "is not a version or a comparison")
    op, ver = m[1] or "", m[2]
    if wild := _WILDCARD.fullmatch(ver):
        if op not in ("", "==", "!="):
            raise _bad(spec, text, "uses a wildcard, which only works with ==, != or alone")
        base = _parse(wild[1])
        assert base is not None  # the pattern only admits release numbers
        inside = _range(_below(base.prec), _bump(base, len(base.parts) - 1))
        return op + ver, (lambda p: not inside(p)) if op == "!=" else inside, False, None
    target = _parse(ver)
    if target is None:
        raise _bad(spec, text, f"does not name a valid version ({ver!r})")
    t = target.prec
    names_pre = op != "!=" and _is_pre(t)
    if op in ("^", "~", "~="):
        if op == "~=" and len(target.parts) < 2:
            raise _bad(spec, text, "needs at least two release numbers (e.g. ~=1.4)")
        index = {
            "^": next((i for i, n in enumerate(target.parts) if n), len(target.parts) - 1),
            "~": min(1, len(target.parts) - 1),
            "~=": len(target.parts) - 2,
        }[op]
        return op + ver, _range(t, _bump(target, index)), names_pre, None

    def equal(p: _Parsed) -> bool:
        return p.prec == t and (not target.local or p.local == target.local)

    low, high = _below(t), _above(t)
    predicate: _Predicate = {
        "": equal,
        "==": equal,
        "!=": lambda p: not equal(p),
        "<": lambda p: p.prec < low,
        "<=": lambda p: p.prec <= t,
        ">": lambda p: p.prec > high,
        ">=": lambda p: p.prec >= t,
    }[op]
    return op + ver, predicate, names_pre, ver if op in ("", "==") else None


@dataclass(frozen=True)
class VersionSpec:
    """A parsed version spec (see :func:`parse_spec`); ``version in spec`` tests one version.

    ``exact`` is the version an exact spec names; ``prereleases`` is true when a clause names a
    prerelease, which lets range clauses match prereleases (pip's rule).
    """

    text: str
    exact: str | None = None
    prereleases: bool = False
    _clauses: tuple[_Predicate, ...] = field(default=(), repr=False, compare=False)

    def __str__(self) -> str:
        return self.text

    def __contains__(self, version: str) -> bool:
        return self._matches(version, self.prereleases)

    def _matches(self, version: str, prereleases: bool) -> bool:
        if not self._clauses:  # "latest" admits everything; else an unparseable exact version
            return self.exact is None or version == self.exact
        parsed = _parse(version)
        if parsed is None or (not prereleases and _is_pre(parsed.prec)):
            return False
        return all(clause(parsed) for clause in self._clauses)


def parse_spec(spec: str) -> VersionSpec:
    """Parse a version spec; raise :class:`InvalidInputError` naming a malformed clause."""
    if not isinstance(spec, str):
        raise InvalidInputError(f"a version spec must be a string, not {type(spec).__name__}")
    text = spec.strip()
    if text.lower() in _LATEST:
        return VersionSpec("latest")
    if _BARE.fullmatch(text) and not _WILDCARD.fullmatch(text) and _parse(text) is None:
        return VersionSpec(text, exact=text)  # stored versions are free text
    compiled = [_clause(spec, part.strip()) for part in text.split(",")]
    names, predicates, pres, exacts = zip(*compiled, strict=True)
    exact = exacts[0] if len(compiled) == 1 else None
    return VersionSpec(",".join(names), exact, any(pres), tuple(predicates))


def select(
    versions: Iterable[str],
    spec: str | VersionSpec = "latest",
    *,
    include_prereleases: bool = False,
) -> str | None:
    """Return the highest of ``versions`` matching ``spec``, or None.

    Prereleases are eligible when ``include_prereleases`` is set or the spec names one. For
    ``latest``: the highest stable version, else the highest prerelease, else the highest
    unparseable string. An exact spec prefers a version spelled exactly like it.
    """
    if not isinstance(spec, VersionSpec):
        spec = parse_spec(spec)
    allow = include_prereleases or spec.prereleases
    found = [v for v in versions if spec._matches(v, allow)]
    if spec.exact is not None and spec.exact in found:
        return spec.exact

    def rank(version: str) -> tuple[Any, ...]:
        parsed = _parse(version)
        tier = 0 if parsed is None else 1 if _is_pre(parsed.prec) and not allow else 2
        return tier, version_key(version)

    return max(found, key=rank, default=None)
