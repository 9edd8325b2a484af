"""The terminal's cleaning function: one line, controls shown, rich markup inert."""

from __future__ import annotations

from hostmap.render.text import clean


def test_newlines_tabs_escapes_and_bidi_overrides_are_shown_on_one_line() -> None:
    shown = clean("An OPT record occurred somewhere other than\n    the\tadditional\r"
                  "\x1b]0;t\x07\x9b\u202egnp")
    assert shown == ("An OPT record occurred somewhere other than\\x0a    the\\x09additional"
                     "\\x0d\\x1b]0;t\\x07\\x9b\\u202egnp")


def test_rich_markup_is_escaped_and_none_is_empty() -> None:
    assert clean("[bold]x[/bold]") == "\\[bold]x\\[/bold]"
    assert clean(None) == ""
