"""Checking and rendering prompt templates in Jinja2's sandbox."""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from meeting_agent.errors import InvalidArgument

# Templates are tenant-supplied code: the immutable sandbox blocks attribute tricks and
# mutation of the objects we pass in.
_environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template_syntax(body: str, field: str) -> None:
    """Raise `InvalidArgument` naming the line when the template does not compile."""
    try:
        _environment.parse(body)
    except TemplateSyntaxError as exc:
        raise InvalidArgument.field(
            field,
            f"template syntax error on line {exc.lineno}: {exc.message}",
            reason="INVALID_TEMPLATE",
        ) from None


def render_template(body: str, variables: dict[str, Any]) -> str:
    return _environment.from_string(body).render(**variables)
