"""The Jinja2 environment of the report's templates: where they are, and the filters and
functions they may use."""

from __future__ import annotations

from typing import Any

import jinja2

from ..paths import TEMPLATES
from .markdown import ms, table


def _fmt(value: Any, spec: str) -> str:
    """``format(value, spec)``: ``{{ size|fmt(",") }}`` gives 10,000."""
    return format(value, spec)


def _code(value: Any) -> str:
    """Markdown code: ``{{ name|code }}`` gives `name`."""
    return f"`{value}`"


def _upper_first(text: str) -> str:
    """The text with its first letter upper-cased (and the rest as it is)."""
    return text[:1].upper() + text[1:]


def environment() -> jinja2.Environment:
    """Templates from ``benchmarks/templates``; a block tag alone on its line leaves no
    trace, and a name the context lacks is an error, not an empty string."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters.update(fmt=_fmt, code=_code, ms=ms, upper_first=_upper_first)
    env.globals.update(table=table)
    return env


def render(template: str, **context: Any) -> str:
    """The template named ``template`` rendered with ``context``."""
    return environment().get_template(template).render(**context)
