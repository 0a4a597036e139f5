"""$regex: options, PCRE2 semantics reproduced on RE2, bounded cost, refusals.

Sources: the manual's $regex page (options i, m, x, s, u; $options with $regex only; regex in
$in); jstests/core/query/regex/regex_options.js, regex_error.js, regex_unicode.js and
regex_max_pattern_length.js; PCRE2's pcre2pattern documentation for ``$``, ``\\Z``, ``\\s``,
``\\v``, ``\\h`` and multiline ``^``.
"""

import re
import time

import pytest
from bson import Regex
from hypothesis import given, settings
from hypothesis import strategies as st

from assetstore._regex import compile_regex
from assetstore.errors import InvalidQueryError
from assetstore.query import compile_filter


def matches(filter, doc):
    return compile_filter(filter)(doc)


def search(pattern, text, options=""):
    return compile_regex(pattern, options).search(text)


def test_catastrophic_pattern_is_answered_promptly():
    # The classic exponential-backtracking case: RE2 answers in linear time with MongoDB's
    # answer (no match: the subject does not end in "a").
    predicate = compile_filter({"asset_name": {"$regex": "(a+)+$"}})
    doc = {"asset_name": "a" * 39 + "!"}
    start = time.perf_counter()
    assert predicate(doc) is False
    assert time.perf_counter() - start < 0.25  # backtracking would take hours
    assert predicate({"asset_name": "a" * 40})


def test_regex_forms():
    doc = {"name": "org/ResNet"}
    assert matches({"name": {"$regex": "^org/"}}, doc)
    assert matches({"name": re.compile("resnet", re.IGNORECASE)}, doc)
    assert matches({"name": {"$regex": re.compile("resnet", re.IGNORECASE)}}, doc)
    assert matches({"name": {"$regex": "resnet", "$options": "i"}}, doc)
    assert matches({"name": {"$options": "i", "$regex": "resnet"}}, doc)
    assert matches({"name": Regex("RESNET", "i")}, doc)
    assert not matches({"name": {"$regex": "resnet"}}, doc)


def test_regex_matches_strings_and_string_elements_only():
    assert matches({"a": {"$regex": "^1"}}, {"a": ["x", "12"]})
    assert not matches({"a": {"$regex": "^1"}}, {"a": 12})
    assert not matches({"a": {"$regex": "^1"}}, {"a": [12]})
    assert not matches({"a": {"$regex": ".*"}}, {})
    assert not matches({"a": {"$regex": ".*"}}, {"a": None})
    assert matches({"a": {"$regex": ""}}, {"a": ""})


def test_options_are_validated():
    # regex_options.js: "u" is accepted, unknown letters are an error.
    assert matches({"t": {"$regex": "^hello.*", "$options": "u"}}, {"t": "hello_test"})
    for options in ("g", "\x00i", "l", "iq"):
        with pytest.raises(InvalidQueryError, match="flag"):
            compile_filter({"t": {"$regex": "x", "$options": options}})


def test_options_cannot_be_given_twice():
    with pytest.raises(InvalidQueryError, match="both"):
        compile_filter({"a": {"$regex": Regex("x", "i"), "$options": "m"}})
    with pytest.raises(InvalidQueryError, match="both"):
        # A Python str pattern always carries re.UNICODE, which pymongo sends as "u".
        compile_filter({"a": {"$regex": re.compile("x"), "$options": "i"}})


def test_options_without_regex_and_bad_operands():
    for filter in (
        {"a": {"$options": "i"}},
        {"a": {"$regex": 5}},
        {"a": {"$regex": "x", "$options": 1}},
        {"a": {"$regex": "[)"}},
        {"a": {"$regex": "ab\x00c"}},
        {"a": {"$regex": "y" * 32767}},
    ):
        with pytest.raises(InvalidQueryError):
            compile_filter(filter)


def test_long_patterns_within_the_limit():
    # regex_max_pattern_length.js: patterns above the old 16384 limit work.
    pattern = "^" + "y" * 20_000
    assert search(pattern, "y" * 20_001)


def test_dollar_also_matches_before_a_final_newline():
    # PCRE2 (no m option): $ and \Z match at the end or before a newline that ends the subject.
    assert search("abc$", "abc\n")
    assert search("abc$", "abc")
    assert not search("abc$", "abc\n\n")
    assert search("abc\\Z", "abc\n")
    assert not search("abc\\z", "abc\n")
    assert search("^(foo|bar)$", "bar\n")


def test_multiline_anchors():
    assert search("^b", "a\nb", "m")
    assert not search("^b", "a\nb")
    assert search("a$", "a\nb", "m")
    # With m, ^ does not match after a newline that ends the subject.
    assert not search("^$", "a\n", "m")
    assert search("^$", "a\n\n", "m")
    assert not search("^\\s*$", "abc\n", "m")
    assert search("^\\s*$", "a\n \nb", "m")
    assert search("(?m)^b", "a\nb")


def test_dotall_case_and_extended_options():
    assert search("a.b", "a\nb", "s")
    assert not search("a.b", "a\nb")
    assert search("ÉTÉ", "été", "i")
    assert search("a b # comment\n c", "abc", "x")
    assert not search("a b # comment\n c", "a b c", "x")
    assert search("a\\ b", "a b", "x")
    assert search("[ ]", " ", "x")  # whitespace inside a class is literal
    assert search("(?x) a b", "ab")
    assert search("(?i)abc|(?-i)DEF", "ABC")
    assert not search("(?i)abc|(?-i)DEF", "def")


def test_pcre_character_classes():
    assert search("\\s", "\x0b")  # PCRE2's \s includes the vertical tab
    assert search("\\v", "\n")  # \v is vertical whitespace, not only the VT character
    assert not search("\\v", "v")
    assert search("\\h", "\u00a0")
    assert search("\\w", "kyle")
    assert not search("^\\w+$", "suárez")  # ASCII \w (regex_unicode.js)
    assert not search("^[[:alpha:]]+$", "suárez")
    assert search("\\p{Latin}", "kyle")
    assert search("^\\p{Hangul}+$", "박정수")
    assert search("(*UTF)á", "suárez")
    assert search("\\x41\\x{42}\\0", "AB\x00")
    assert search("\\cA\\e", "\x01\x1b")
    assert search("\\Qa.b\\E+", "a.bb")
    assert not search("\\Qa.b\\E", "axb")
    assert search("a{,3}", "a{,3}")  # not a quantifier in PCRE2 10.4x
    assert search("[]a]", "]")
    assert search("(?<n>a)(?'m'b)(?P<o>c)", "abc")


@pytest.mark.parametrize(
    "pattern",
    [
        "(a)\\1",
        "(?<n>a)\\k<n>",
        "(?=a)",
        "(?!a)",
        "(?<=a)b",
        "(?<!a)b",
        "(?>a+)",
        "a++",
        "a*+",
        "(?R)",
        "(?(1)a|b)",
        "(*UCP)\\w",
        "(*FAIL)",
        "\\K",
        "\\R",
        "\\X",
        "a$\\n",
        "(foo$)*",
        "x\n^y",
    ],
)
def test_patterns_needing_backtracking_are_refused(pattern):
    options = "m" if "^" in pattern else ""
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$regex": pattern, "$options": options}})


def test_refusal_message_explains_the_limit():
    with pytest.raises(InvalidQueryError, match="backtracking"):
        compile_filter({"a": {"$regex": "(?=x)"}})


@pytest.mark.parametrize("pattern", ["[)", "(", "a)", "*a", "a{2,1}", "[z-a]", "\\", "[:alpha:]"])
def test_invalid_patterns_are_errors(pattern):
    with pytest.raises(InvalidQueryError):
        compile_filter({"a": {"$regex": pattern}})


def test_regex_equality_with_stored_regex_values():
    assert matches({"a": {"$regex": "x", "$options": "i"}}, {"a": Regex("x", "i")})
    assert not matches({"a": {"$regex": "x"}}, {"a": Regex("y")})


def test_not_regex_matches_non_strings():
    assert matches({"a": {"$not": re.compile("^x")}}, {"a": 5})
    assert matches({"a": {"$not": re.compile("^x")}}, {})


ATOMS = st.sampled_from(
    ["a", "b", "c", "/", "1", ".", "[ab]", "[^a]", "\\d", "\\w", "\\s", "(a|bc)"]
)
QUANTIFIERS = st.sampled_from(["", "", "", "*", "+", "?", "{1,2}", "*?"])
PATTERNS = st.builds(
    lambda start, items, end: ("^" if start else "") + "".join(items) + ("$" if end else ""),
    st.booleans(),
    st.lists(st.tuples(ATOMS, QUANTIFIERS).map("".join), min_size=1, max_size=6),
    st.booleans(),
)
SUBJECTS = st.text(alphabet="abc1/ \n", max_size=12)


@settings(max_examples=400, deadline=None)
@given(pattern=PATTERNS, subject=SUBJECTS)
def test_translation_and_prefilter_agree_with_a_pcre_like_oracle(pattern, subject):
    # On this subset Python's re (ASCII mode) reads patterns as PCRE2 does, including "$"
    # matching before a final newline; so any difference is a translation or prefilter bug.
    expected = re.search(pattern, subject, re.ASCII) is not None
    assert search(pattern, subject) == expected


# ------------------------------------------------------------- shortcuts for common patterns
@pytest.mark.parametrize(
    ("pattern", "options", "text", "expected"),
    [
        ("^org1/", "", "org1/model", True),
        ("^org1/", "", "xorg1/model", False),
        ("org1/", "", "xorg1/model", True),
        ("^abc", "", "abc\ndef", True),
        ("^abc", "m", "x\nabc", True),  # with m, ^ also matches after a newline
        ("a.c", "", "abc", True),  # not a literal: still a regular expression
        ("model1", "i", "Org/MODEL1x", True),
        ("model1", "i", "org/model2", False),
        ("kelvin", "i", "\u212aelvin", True),  # KELVIN SIGN folds to k: no ASCII prefilter
        ("ss", "i", "\u017fs", True),  # LONG S folds to s
    ],
)
def test_literal_and_caseless_shortcuts_keep_the_semantics(pattern, options, text, expected):
    spec = {"$regex": pattern, "$options": options} if options else {"$regex": pattern}
    assert compile_filter({"a": spec})({"a": text}) is expected
    assert compile_filter({"a": {"$in": [re.compile(pattern)] if not options else []}})(
        {"a": text}
    ) is (expected if not options else False)
