"""The search box's grammar, run on a real store: what each kind of term finds."""

from __future__ import annotations

import pytest

from assetstore import open_store
from assetstore.errors import InvalidQueryError
from assetstore.http.ui._search import literal_pattern, parse_search


@pytest.fixture(scope="module")
def store():
    with open_store("memory://ui-search") as store:
        for name, version, tag, tags, metadata in (
            ("org/resnet", "1.0", "stable", ["image"], {"framework": "pytorch", "epochs": 10}),
            ("org/ResNet-large", "2.0", "beta", ["image", "big"], {"framework": "jax"}),
            ("team/Sample Asset", "1.0", "image", ["text"], {"epochs": "10", "ok": True}),
            ("a.b+c (1)", "3", "x", [], {"nested": {"k": "v"}}),
            ("x/abbc", "1", "x", [], {}),
        ):
            store.register(
                {
                    "asset_name": name,
                    "asset_version": {"version": version, "tag": tag},
                    "asset_tags": tags,
                    "asset_metadata": metadata,
                }
            )
        yield store


def names(store, text, tag=None):
    return sorted(a.asset_name for a in store.query(parse_search(text, tag=tag)))


def test_nothing_matches_everything(store):
    assert parse_search("") == {} == parse_search("   ")
    assert len(names(store, "")) == 5


def test_words_search_names_in_any_case_and_all_must_match(store):
    assert names(store, "resnet") == ["org/ResNet-large", "org/resnet"]
    assert names(store, "resnet large") == ["org/ResNet-large"]
    assert names(store, "nothing-like-this") == []


def test_regular_expression_characters_are_literal(store):
    assert names(store, "b+c") == ["a.b+c (1)"]  # as a pattern it would match "abbc"
    assert names(store, "b+c (1)") == ["a.b+c (1)"]  # two words, both in the name
    assert names(store, '"c (1)"') == ["a.b+c (1)"]
    assert names(store, "a.b") == ["a.b+c (1)"]  # "." is a dot, not any character
    assert names(store, "a?b") == []
    assert literal_pattern("a.b*(c)") == r"a\.b\*\(c\)"


def test_name_is_a_prefix_and_quotes_keep_spaces(store):
    assert names(store, "name:org/") == ["org/ResNet-large", "org/resnet"]
    assert names(store, "name:resnet") == []
    assert names(store, 'name:"team/Sample Asset"') == ["team/Sample Asset"]


def test_tag_matches_asset_tags_or_the_version_tag(store):
    assert names(store, "tag:image") == ["org/ResNet-large", "org/resnet", "team/Sample Asset"]
    assert names(store, "tag:beta") == ["org/ResNet-large"]
    assert names(store, "tag:big resnet") == ["org/ResNet-large"]


def test_the_tag_filter_is_one_more_condition(store):
    assert names(store, "resnet", tag="big") == ["org/ResNet-large"]
    assert names(store, "", tag="text") == ["team/Sample Asset"]
    assert names(store, "", tag="image") == ["org/ResNet-large", "org/resnet"]  # asset_tags only


def test_meta_matches_a_string_or_the_number_it_spells(store):
    assert names(store, "meta.framework=pytorch") == ["org/resnet"]
    assert names(store, "meta.epochs=10") == ["org/resnet", "team/Sample Asset"]
    assert names(store, "meta.ok=true") == ["team/Sample Asset"]
    assert names(store, "meta.nested.k=v") == ["a.b+c (1)"]
    assert names(store, "meta.framework=jax resnet") == ["org/ResNet-large"]


def test_version(store):
    assert names(store, "version:1.0") == ["org/resnet", "team/Sample Asset"]


def test_a_raw_filter_is_used_as_it_is(store):
    assert names(store, '{"asset_metadata.framework": {"$in": ["jax"]}}') == ["org/ResNet-large"]
    assert names(store, "{}") == names(store, "")
    assert names(store, '{"asset_tags": "text"}', tag="text") == ["team/Sample Asset"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", "unknown search field 'colour'"),
        ("tag:", "needs a value"),
        ('name:"unclosed', "unclosed quote"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", None),  # not a filter: a name search for "[1," and "2]", which is fine
        ('{"$where": "1"}', None),  # parsed; the query engine refuses it (below)
        ("meta.=x", "meta.KEY=VALUE"),
        ("meta.$gt=x", "meta.KEY=VALUE"),
    ],
)
def test_what_cannot_be_searched_says_why(store, text, message):
    if message is None:
        parse_search(text)
        return
    with pytest.raises(InvalidQueryError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_search(text)


def test_server_side_code_in_a_raw_filter_is_refused_by_the_engine(store):
    with pytest.raises(InvalidQueryError):
        store.query(parse_search('{"$where": "sleep(1000)"}'))
