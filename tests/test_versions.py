"""Tests for assetstore.versions: the total order, spec parsing and selection."""

from __future__ import annotations

import dataclasses
import itertools
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from assetstore.errors import InvalidInputError
from assetstore.versions import (
    VersionSpec,
    is_prerelease,
    parse_spec,
    select,
    sort_versions,
    version_key,
)


def assert_sorted_as(expected: list[str]) -> None:
    """Assert that every shuffle of ``expected`` sorts back to it, with strictly rising keys."""
    rng = random.Random(0)
    for _ in range(20):
        shuffled = expected[:]
        rng.shuffle(shuffled)
        assert sort_versions(shuffled) == expected
    keys = [version_key(v) for v in expected]
    assert all(a < b for a, b in itertools.pairwise(keys))


# --- ordering ----------------------------------------------------------------------------------


def test_numbers_compare_as_numbers() -> None:
    assert_sorted_as(["1", "2", "9.0", "10.0", "10.1", "v11", "2024.11.30"])
    assert sort_versions(["9.0", "10.0"], reverse=True) == ["10.0", "9.0"]


def test_semver_spec_precedence_example() -> None:
    # semver 2.0 §11, in the spec's own words
    assert_sorted_as(
        [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ]
    )
    assert_sorted_as(["1.0.0", "2.0.0", "2.1.0", "2.1.1"])


def test_semver_identifier_rules() -> None:
    assert_sorted_as(["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-a.1", "1.0.0"])
    # semver shape wins: "1.0.0-1" is a prerelease, while PEP 440's "1.0-1" is a post release
    assert is_prerelease("1.0.0-1")
    assert_sorted_as(["1.0.0-1", "1.0", "1.0-1"])


def test_build_metadata_is_ignored_for_precedence() -> None:
    builds = ["1.2.3+build.5", "1.2.3+build.10", "1.2.3+sha.abc"]
    for v in builds:
        assert v in parse_spec("1.2.3")
        assert v not in parse_spec(">1.2.3")
        assert v not in parse_spec("<1.2.3")
    assert_sorted_as(["1.2.2", "1.2.3", *sorted(builds, key=version_key), "1.2.4-alpha", "1.2.4"])
    # equal precedence, yet a deterministic order and distinct keys
    assert len({version_key(v) for v in builds}) == len(builds)
    assert sort_versions(builds) == sort_versions(list(reversed(builds)))


def test_exact_spec_with_build_metadata_requires_it() -> None:
    assert "1.2.3+build.5" in parse_spec("1.2.3+build.5")
    assert "1.2.3+build.6" not in parse_spec("1.2.3+build.5")
    assert "1.2.3" not in parse_spec("1.2.3+build.5")


def test_pep440_dev_pre_post_ordering() -> None:
    ordered = [
        "1.0.dev0",
        "1.0.dev3",
        "1.0a1.dev1",
        "1.0a1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0rc1.post1",
        "1.0",
        "1.0+local",
        "1.0.post1.dev0",
        "1.0.post1",
        "1.0.post2",
        "1.1.dev0",
        "1.1",
        "1!0.1",
    ]
    assert_sorted_as(ordered)
    assert ordered == sorted(ordered, key=Version)
    # local labels: alphanumeric segments before numeric ones, numbers as numbers
    local = ["1.0", "1.0+abc", "1.0+abc.2", "1.0+2", "1.0+10", "1.0.post0"]
    assert_sorted_as(local)
    assert local == sorted(local, key=Version)


def test_semver_and_pep440_prereleases_interleave() -> None:
    assert_sorted_as(["1.0.0-alpha", "1.0a1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0rc2", "1.0.0"])
    assert "1.0.0-rc.1" in parse_spec("1.0rc1")
    assert "1.0rc1" in parse_spec("1.0.0-rc.1")
    assert "1.0.0-alpha" in parse_spec("1.0a0")
    assert "1.0.0-beta.2" in parse_spec("v1.0b2")


def test_equal_versions_tie_break_on_the_raw_string() -> None:
    equal = ["1.0", "1.0.0", "v1.0", "V1.0.0", "1.0.0.0"]
    for v in equal:
        assert v in parse_spec("1.0")
    first = sort_versions(equal)
    assert sort_versions(reversed(equal)) == first
    assert len({version_key(v) for v in equal}) == len(equal)


def test_unparseable_sort_first_in_natural_order() -> None:
    assert_sorted_as(["build9", "build10", "latest-ish", "nightly", "0.0.0.dev0", "1.0a1", "1"])
    assert_sorted_as(["a2", "A10", "a10", "b"])
    assert not is_prerelease("latest-ish")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0a1", True),
        ("1.0.dev2", True),
        ("1.0.post1.dev0", True),
        ("1.0.0-rc.1", True),
        ("v2.0.0-beta", True),
        ("1.0", False),
        ("1.0.post1", False),
        ("1.2.3+build.5", False),
        ("2024.11.30", False),
        ("junk-rc1", False),
    ],
)
def test_is_prerelease(version: str, expected: bool) -> None:
    assert is_prerelease(version) is expected


# --- specs -------------------------------------------------------------------------------------

MATCHES = [
    # exact versions, compared after normalization; unparseable ones by their raw text
    ("1.2.3", "1.2.3", True),
    ("1.2.3", "v1.2.3", True),
    ("1.0", "1.0.0", True),
    ("1.0", "1.0.1", False),
    ("latest-ish", "latest-ish", True),
    ("latest-ish", "latest-ISH", False),
    ("==1.2", "1.2.0", True),
    # comparisons
    (">=1.2,<2", "1.2", True),
    (">=1.2,<2", "1.9.9", True),
    (">=1.2,<2", "2.0", False),
    (">=1.2,<2", "1.1.9", False),
    ("  >= 1.2 ,  < 2  ", "1.5", True),
    ("!=1.3", "1.3.0", False),
    ("!=1.3", "1.4", True),
    (">1", "1.0.1", True),
    (">1", "1.0", False),
    (">1", "1.0.post1", False),
    ("<=2.0", "2", True),
    ("<=2.0", "2.0.1", False),
    # PEP 440 compatible release
    ("~=1.4", "1.4", True),
    ("~=1.4", "1.9", True),
    ("~=1.4", "2.0", False),
    ("~=1.4.5", "1.4.9", True),
    ("~=1.4.5", "1.5", False),
    # npm caret, including the 0.x edge cases
    ("^1.2", "1.2.0", True),
    ("^1.2", "1.9.0", True),
    ("^1.2", "2.0.0", False),
    ("^1.2", "1.1.9", False),
    ("^0.2.3", "0.2.3", True),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.2.3", "0.2.2", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9", True),
    ("^0", "1.0", False),
    # npm tilde
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.2.9", True),
    ("~1.2", "1.3.0", False),
    ("~1.2.3", "1.2.2", False),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~0.0.3", "0.0.9", True),
    ("~1", "1.9", True),
    ("~1", "2.0", False),
    # wildcards
    ("1.x", "1.0", True),
    ("1.x", "1.99.1", True),
    ("1.x", "2.0", False),
    ("1.x", "0.9", False),
    ("1.2.*", "1.2", True),
    ("1.2.*", "1.2.7", True),
    ("1.2.*", "1.3", False),
    ("==1.2.*", "1.2.7", True),
    ("!=1.2.*", "1.2.7", False),
    ("!=1.2.*", "1.3", True),
    ("1.x.x", "1.5.5", True),
    ("1.0.*", "1.0.5", True),
    ("1.0.*", "1.1", False),
    # unparseable versions never match a range
    (">=0", "latest-ish", False),
    ("!=1.0", "latest-ish", False),
    ("1.x", "1.x", False),
    # latest admits everything (select() decides among them)
    ("latest", "latest-ish", True),
    ("*", "1.0a1", True),
]


@pytest.mark.parametrize(("spec", "version", "expected"), MATCHES)
def test_spec_matching(spec: str, version: str, expected: bool) -> None:
    assert (version in parse_spec(spec)) is expected


def test_prereleases_are_excluded_from_ranges_by_default() -> None:
    assert "2.0a1" not in parse_spec(">=1.0")
    assert "1.5.0-beta.1" not in parse_spec("^1.2")
    versions = ["1.2.0", "1.5.0-beta.1", "2.0.0-rc.1"]
    assert select(versions, "^1.2") == "1.2.0"
    assert select(versions, "^1.2", include_prereleases=True) == "1.5.0-beta.1"
    assert select(versions, ">=1") == "1.2.0"
    assert select(versions, ">=1", include_prereleases=True) == "2.0.0-rc.1"


def test_a_clause_naming_a_prerelease_admits_prereleases() -> None:
    spec = parse_spec(">=1.0rc1")
    assert spec.prereleases
    assert "2.0a1" in spec
    assert select(["1.0rc1", "0.9"], ">=1.0rc1") == "1.0rc1"
    assert "1.5.0-beta.1" in parse_spec("^1.2.0-alpha")
    assert not parse_spec("!=1.3rc1").prereleases  # "!=" does not count (pip's rule)
    assert "1.3rc2" not in parse_spec("!=1.3rc1")


def test_exact_prerelease_spec_matches_it() -> None:
    assert select(["1.0.0-rc.1", "1.0.0", "0.9"], "1.0.0-rc.1") == "1.0.0-rc.1"
    assert "1.0rc1" in parse_spec("1.0rc1")


def test_upper_bounds_exclude_prereleases_of_the_bound() -> None:
    versions = ["1.9", "2.0.0-rc.1", "2.0a1", "2.0.dev0"]
    for spec in ("<2", ">=1,<2.0", "^1.0", "~=1.4", "1.*", "~1"):
        assert select(versions, spec, include_prereleases=True) == "1.9", spec
    assert select(versions, "<2.0.0-rc.1", include_prereleases=True) == "2.0a1"


def test_select_latest() -> None:
    assert select(["1.0", "10.0", "9.0", "11.0a1", "junk"]) == "10.0"
    assert select(["1.0", "11.0a1"], include_prereleases=True) == "11.0a1"
    assert select(["1.0a1", "1.0.0-rc.1", "0.9.dev0"]) == "1.0.0-rc.1"
    assert select(["1.0a1", "zzz"]) == "1.0a1"
    assert select(["nightly", "build10", "build9"]) == "nightly"
    assert select(["build10", "build9"]) == "build10"
    assert select([]) is None
    for spec in ("latest", "*", "", "  ", "LATEST"):
        assert select(["2.0", "10.0"], spec) == "10.0"
        assert str(parse_spec(spec)) == "latest"


def test_select_with_specs() -> None:
    versions = ["0.9", "1.0", "1.2.0", "1.2.7", "1.3.1", "2.0.0", "latest-ish"]
    assert select(versions, ">=1.2,<2") == "1.3.1"
    assert select(versions, "1.2.*") == "1.2.7"
    assert select(versions, "~1.2") == "1.2.7"
    assert select(versions, "^1.0") == "1.3.1"
    assert select(versions, "latest-ish") == "latest-ish"
    assert select(versions, "1.2") == "1.2.0"
    assert select(versions, ">5") is None
    assert select(versions, "nope") is None
    assert select(versions, parse_spec("<1.2")) == "1.0"


def test_select_exact_prefers_the_same_spelling() -> None:
    assert select(["v1.0", "1.0", "1.0.0"], "1.0") == "1.0"
    assert select(["v1.0", "1.0.0"], "1.0") in {"v1.0", "1.0.0"}


def test_spec_object() -> None:
    spec = parse_spec(" >= 1.2 ,<2 ")
    assert isinstance(spec, VersionSpec)
    assert str(spec) == ">=1.2,<2"
    assert parse_spec(str(spec)) == spec
    assert parse_spec("1.2").exact == "1.2"
    assert parse_spec(">=1.2").exact is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.text = "*"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "bad_clause"),
    [
        (">=foo", ">=foo"),
        (">=1,,<2", "''"),
        (">=1.2,", "''"),
        (">=1.*", ">=1.*"),
        ("^1.x", "^1.x"),
        ("~=1", "~=1"),
        ("^", "^"),
        (">=1 2", ">=1 2"),
        ("1.0 2.0", "1.0 2.0"),
        ("=>1.0", "=>1.0"),
        (">=1.0,latest", "latest"),
        ("a/b", "a/b"),
        ("model:1.0", "model:1.0"),
    ],
)
def test_malformed_specs_raise(spec: str, bad_clause: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(bad_clause)):
        parse_spec(spec)
    with pytest.raises(ValueError, match="invalid version spec"):
        select(["1.0"], spec)


def test_non_string_spec_raises() -> None:
    with pytest.raises(InvalidInputError):
        parse_spec(1.0)  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------------

_num = st.integers(0, 30).map(str)
_alnum_id = st.text("abcxyzAZ-0123456789", min_size=1, max_size=5).filter(lambda s: not s.isdigit())


@st.composite
def pep440_versions(draw: st.DrawFn) -> str:
    """Strings in PEP 440 shape, in canonical and in loose spellings."""
    text = draw(st.sampled_from(["", "v", "1!"]))
    text += ".".join(draw(st.lists(_num, min_size=1, max_size=4)))
    if draw(st.booleans()):
        text += draw(st.sampled_from(["a", "b", "rc", "-alpha", ".beta", "c", "pre"])) + draw(_num)
    if draw(st.booleans()):
        text += draw(st.sampled_from([".post", "-", "post"])) + draw(_num)
    if draw(st.booleans()):
        text += ".dev" + draw(_num)
    if draw(st.booleans()):
        text += "+" + draw(st.sampled_from(["1", "abc", "a.2", "ubuntu-1"]))
    return text


@st.composite
def semver_versions(draw: st.DrawFn) -> str:
    """Strings in semver 2.0 shape, with prerelease identifiers and build metadata."""
    text = ".".join(draw(_num) for _ in range(3))
    pre = draw(st.lists(st.one_of(_num, _alnum_id), max_size=3))
    build = draw(st.lists(st.sampled_from(["1", "sha", "b-7"]), max_size=2))
    return text + ("-" + ".".join(pre) if pre else "") + ("+" + ".".join(build) if build else "")


junk = st.text("abvx019.-+_*!~", max_size=10)
any_version = st.one_of(pep440_versions(), semver_versions(), junk)


@given(st.lists(any_version, max_size=15), st.randoms(use_true_random=False))
def test_sort_is_deterministic_under_shuffling(versions: list[str], rnd: random.Random) -> None:
    shuffled = versions[:]
    rnd.shuffle(shuffled)
    assert sort_versions(shuffled) == sort_versions(versions)
    assert sort_versions(versions, reverse=True) == sort_versions(versions)[::-1]


@given(any_version, any_version, any_version)
def test_version_key_is_a_total_order(a: str, b: str, c: str) -> None:
    ka, kb, kc = version_key(a), version_key(b), version_key(c)
    assert (ka == kb) == (a == b)  # antisymmetric: distinct strings never tie
    assert (ka < kb) + (ka == kb) + (ka > kb) == 1
    if ka <= kb and kb <= kc:
        assert ka <= kc


@given(pep440_versions(), pep440_versions())
def test_pep440_order_agrees_with_packaging(a: str, b: str) -> None:
    a, b = str(Version(a)), str(Version(b))  # canonical spellings never look like semver pre
    if Version(a) < Version(b):
        assert version_key(a) < version_key(b)


def _semver_cmp(a: str, b: str) -> int:
    """Compare two semver strings by precedence, transcribing semver 2.0 §11 literally."""

    def split(v: str) -> tuple[list[int], list[str] | None]:
        core, _, pre = v.split("+")[0].partition("-")
        return [int(n) for n in core.split(".")], pre.split(".") if pre else None

    (core_a, pre_a), (core_b, pre_b) = split(a), split(b)
    if core_a != core_b:
        return -1 if core_a < core_b else 1
    if pre_a is None or pre_b is None:
        return (pre_a is None) - (pre_b is None)
    for x, y in zip(pre_a, pre_b, strict=False):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return -1 if int(x) < int(y) else 1
        if x.isdigit() or y.isdigit():
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1
    return (len(pre_a) > len(pre_b)) - (len(pre_a) < len(pre_b))


@given(semver_versions(), semver_versions())
def test_semver_order_agrees_with_the_semver_spec(a: str, b: str) -> None:
    expected = _semver_cmp(a, b)
    if expected:
        assert (version_key(a) < version_key(b)) == (expected < 0)


@given(any_version, st.sampled_from(["latest", ">=1.0,<2", "^0.2", "1.x", "!=1.0", "1.0", "junk"]))
def test_matching_never_raises(version: str, spec: str) -> None:
    assert isinstance(version in parse_spec(spec), bool)
    assert is_prerelease(version) in (True, False)
