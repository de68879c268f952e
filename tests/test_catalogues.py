"""The interface's catalogues are complete and in step with the sources, and no template
shows a person a word that does not pass through gettext.

Fails on: an untranslated or fuzzy message in any .po; a plural message without every
plural form of its language; a translation that would not compile (a placeholder its
message lacks); a catalogue whose messages differ from what the sources mark
today (run ``make messages``, then translate); and, in every template under templates/
(public, staff and mail alike), text with letters or a translatable attribute (title, alt,
placeholder, aria-label, the value of a submit button, a meta description) written outside
``_()`` / ``{% trans %}``.
"""

from __future__ import annotations

import html.parser
import re
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from babel.messages import Catalog, pofile
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from outreach import i18n
from outreach.settings import PROJECT_ROOT

LOCALE = PROJECT_ROOT / "src" / "outreach" / "locale"
TEMPLATES = PROJECT_ROOT / "templates"
# Stands for whatever a template computes ({{ … }}, a {% trans %} block): never a letter.
HOLE = "\ue000"

# Text that is not a word of any language, so there is nothing to translate:
ALLOWED = {
    "Outreach",  # the product's name, the same in every language
}
_WORD = re.compile(r"[^\W\d_]+")
# Attributes a person reads (or hears from a screen reader).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}


def _catalogue(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return pofile.read_po(source, locale=lang)


def _key(
    message_id: str | tuple[str, ...] | list[str], context: str | None
) -> tuple[str | None, str]:
    singular = message_id if isinstance(message_id, str) else message_id[0]
    return (context, singular)


@pytest.mark.parametrize("lang", i18n.INTERFACE_LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(lang: str) -> None:
    catalogue = _catalogue(lang)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        where = ", ".join(f"{path}:{line}" for path, line in message.locations) or "?"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r} ({where})")
        if not all(strings):
            problems.append(f"untranslated: {message.id!r} ({where})")
        if message.pluralizable and len(strings) != catalogue.num_plurals:
            problems.append(
                f"{len(strings)} of {catalogue.num_plurals} plural forms: {message.id!r} ({where})"
            )
    assert not problems, f"{lang}/messages.po:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", i18n.INTERFACE_LANGUAGES)
def test_every_message_compiles(lang: str) -> None:
    # Babel's checks, as ``make install`` (pybabel compile) runs them: a translation must
    # use no placeholder its message lacks (a singular without %(num)s fails here).
    problems = [
        f"{message.id!r}: {error}"
        for message, errors in _catalogue(lang).check()
        for error in errors
    ]
    assert problems == [], f"{lang}/messages.po:\n" + "\n".join(problems)


@pytest.mark.parametrize(("lang", "plurals"), [("en", 2), ("sl", 4), ("mk", 2), ("fi", 2)])
def test_plural_rules_are_the_languages_own(lang: str, plurals: int) -> None:
    assert _catalogue(lang).num_plurals == plurals


def _source_directory(path: str) -> bool:
    """Only the folders ``make messages`` finds marked strings in (not .venv, node_modules)."""
    relative = Path(path).resolve().relative_to(PROJECT_ROOT).parts
    return bool(relative) and relative[0] in {"src", "templates"} and "__pycache__" not in relative


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str | None, str]]:
    """What the sources mark today, extracted as ``make messages`` does, into a .pot."""
    tmp_path = tmp_path_factory.mktemp("messages")
    with (LOCALE / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    template = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
        PROJECT_ROOT,
        method_map,
        options_map,
        keywords=keywords,
        comment_tags=("Translators:",),
        directory_filter=_source_directory,
    ):
        template.add(message, locations=[(filename, lineno)], context=context)
    pot = tmp_path / "fresh.pot"
    with pot.open("wb") as out:
        pofile.write_po(out, template, width=0)
    with pot.open("rb") as back:
        return {_key(m.id, m.context) for m in pofile.read_po(back) if m.id}


@pytest.mark.parametrize("lang", i18n.INTERFACE_LANGUAGES)
def test_catalogues_are_in_step_with_the_sources(
    lang: str, extracted: set[tuple[str | None, str]]
) -> None:
    fresh = extracted
    held = {_key(m.id, m.context) for m in _catalogue(lang) if m.id}
    assert sorted(fresh - held, key=str) == [], f"marked but not in {lang} (make messages)"
    assert sorted(held - fresh, key=str) == [], f"in {lang} but no longer marked"


class _Reader(html.parser.HTMLParser):
    """Collects text and read attributes that hold letters, with their lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._hidden = 0  # inside <script> or <style>

    def _check(self, text: str) -> None:
        words = " ".join(text.replace(HOLE, " ").split())
        unmarked = [w for w in _WORD.findall(words) if w not in ALLOWED]
        if unmarked:
            self.found.append((self.getpos()[0], words))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in {"script", "style"}:
            self._hidden += 1
        for name in READ_ATTRIBUTES & values.keys():
            self._check(values[name])
        if tag in {"input", "button"} and values.get("type") in {"submit", "button", "reset"}:
            self._check(values.get("value", ""))
        if tag == "meta" and values.get("name") == "description":
            self._check(values.get("content", ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in {"script", "style"}:
            self._hidden -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._check(data)


def _literal_text(source: str) -> str:
    """The template's own text, line for line, with every computed part a HOLE: what
    ``{{ … }}`` prints and what a ``{% trans %}`` block says are gettext's (or data)."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    pieces: list[str] = []
    line = 1
    in_trans = False
    after_block_begin = False
    for lineno, kind, value in env.lex(source):
        if lineno > line:
            pieces.append("\n" * (lineno - line))
            line = lineno
        if kind == "whitespace":
            continue
        if after_block_begin and kind == "name":
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        after_block_begin = kind == "block_begin"
        if kind == "data":
            pieces.append(HOLE if in_trans and value.strip() else value)
            line += value.count("\n")
        elif kind == "variable_begin":
            pieces.append(HOLE)
    return "".join(pieces)


def _templates() -> Iterator[Path]:
    for pattern in ("**/*.html", "**/*.txt", "**/*.ics", "**/*.xml"):
        yield from sorted(TEMPLATES.glob(pattern))


def test_the_lexer_view_keeps_lines_and_holes() -> None:
    text = _literal_text('<p title="{{ _("Hi") }}">\n{% trans n=1 %}One{% endtrans %}\nBye</p>')
    assert text == f'<p title="{HOLE}">\n{HOLE}\nBye</p>'


def test_a_bare_word_and_an_unmarked_attribute_are_found() -> None:
    reader = _Reader()
    reader.feed(_literal_text('<img alt="Map">{{ x }} · <b>{{ _("ok") }}</b>\n<i>Closed</i>'))
    reader.close()
    assert reader.found == [(1, "Map"), (2, "Closed")]


@pytest.mark.parametrize(
    "template", list(_templates()), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_template_has_no_unmarked_words(template: Path) -> None:
    reader = _Reader()
    reader.feed(_literal_text(template.read_text(encoding="utf-8")))
    reader.close()
    where = template.relative_to(PROJECT_ROOT)
    assert reader.found == [], "\n".join(f"{where}:{line}: {text!r}" for line, text in reader.found)


def test_allowed_text_is_no_word_but_a_name() -> None:
    # The allow-list stays short: a name, never a sentence that escaped translation.
    assert all(re.fullmatch(r"[A-Z][a-z]+", text) for text in ALLOWED)
