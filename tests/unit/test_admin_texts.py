"""The admin panel is ready for catalogues: every text staff read in its templates is in
a gettext call (`{{ _("...") }}`, `ngettext`), so `make admin-pot` extracts them all.

Each template is parsed with Jinja's own parser; its literal HTML (the TemplateData
nodes, in document order, each Jinja expression or tag between them read as nothing) is
read with the standard library's HTML parser, and these must hold no letter:
- the text between tags;
- the attributes people read: aria-label, title, placeholder, alt, hx-confirm (htmx's
  confirmation dialog), and the value of a submit/button/reset input.
Not language, so skipped: text inside <code>, <pre>, <script> and <style> (code samples,
keys, identifiers), every other attribute (classes, ids, URLs, htmx settings), and a text
made only of attributes (`name="value"` pairs: a macro that writes them into a tag).
In Jinja expressions (`{% set %}`, macro arguments, `x if y else z`), a string outside a
gettext call fails when it reads as words: two words, or one capitalised word ("public
key", "Verified"); ids, CSS classes, keys and acronyms ("step-", "#snippet", "SMS") pass.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch
from jinja2 import Environment, nodes

from tests.helpers.texts import READS_AS_WORDS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
ADMIN_TEMPLATES = sorted(
    [
        *TEMPLATES.glob("admin/**/*.html"),
        *TEMPLATES.glob("auth/**/*.html"),
        *TEMPLATES.glob("_*.html"),
        TEMPLATES / "base.html",
        TEMPLATES / "error.html",
    ]
)
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "hx-confirm"}
BUTTON_INPUTS = {"submit", "button", "reset"}
NOT_LANGUAGE = {"code", "pre", "script", "style"}
GETTEXT = {"_", "gettext", "ngettext"}
PARSER = Environment(extensions=["jinja2.ext.i18n"])
ATTRIBUTES_ONLY = re.compile(r'\s*(?:[\w-]+="[^"]*"\s*)+')


def has_letter(text: str) -> bool:
    return any(character.isalpha() for character in text)


class TextFinder(HTMLParser):
    """Collects the texts people read that hold a letter."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skipping = 0  # depth inside NOT_LANGUAGE elements

    def handle_starttag(self, tag, attrs):
        if tag in NOT_LANGUAGE:
            self.skipping += 1
        attributes = dict(attrs)
        read = set(READ_ATTRIBUTES)
        if tag == "input" and attributes.get("type") in BUTTON_INPUTS:
            read.add("value")
        for name, value in attrs:
            if name in read and value and has_letter(value):
                self.texts.append(f'{name}="{value}"')

    def handle_endtag(self, tag):
        if tag in NOT_LANGUAGE and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and has_letter(data) and not ATTRIBUTES_ONLY.fullmatch(data):
            self.texts.append(" ".join(data.split()))


def literal_html(source: str) -> str:
    """The template's own HTML, its Jinja parts left out (a gettext call included)."""
    template = PARSER.parse(source)
    return "".join(node.data for node in template.find_all(nodes.TemplateData))


def words_in_expressions(node: nodes.Node) -> list[str]:
    """String constants in Jinja expressions that read as words, outside gettext calls."""
    if isinstance(node, nodes.Call) and getattr(node.node, "name", None) in GETTEXT:
        return []
    found = []
    is_text = isinstance(node, nodes.Const) and isinstance(node.value, str)
    if is_text and READS_AS_WORDS.search(node.value):
        found.append(repr(node.value))
    for child in node.iter_child_nodes():
        found.extend(words_in_expressions(child))
    return found


def untranslated(source: str) -> list[str]:
    finder = TextFinder()
    finder.feed(literal_html(source))
    finder.close()
    return finder.texts + words_in_expressions(PARSER.parse(source))


def test_the_check_finds_a_text_outside_gettext():
    source = (
        '<p title="Open it">{{ _("Wrapped") }} Not wrapped</p>'
        '<input type="submit" value="Save"><input type="hidden" name="next" value="x">'
        '<pre>code {{ x }}</pre>{% if bad %}aria-invalid="true"{% endif %}'
        '<code>sub</code><a class="btn" href="{{ url }}">{{ _("Ok") }}</a>'
        '{{ button("#key", "public key") }}{{ _("Save") if x else "Add step" }}'
        '{% set names = {"web": _("Website chat"), "sms": "SMS"} %}'
    )
    assert untranslated(source) == [
        'title="Open it"',
        "Not wrapped",
        'value="Save"',
        "'public key'",
        "'Add step'",
    ]


def test_every_admin_template_is_found():
    names = {path.relative_to(TEMPLATES).as_posix() for path in ADMIN_TEMPLATES}
    assert {"base.html", "error.html", "auth/login.html", "admin/settings/page.html"} <= names
    assert len(names) > 60


@pytest.mark.parametrize(
    "path", ADMIN_TEMPLATES, ids=lambda path: path.relative_to(TEMPLATES).as_posix()
)
def test_every_admin_text_is_in_a_gettext_call(path):
    texts = untranslated(path.read_text())
    assert not texts, f"{path.relative_to(TEMPLATES)}: text outside _():\n" + "\n".join(texts)


def mapping(config: str):
    with open(ROOT / config) as file:
        return parse_mapping_cfg(file)


def test_the_admin_templates_stay_out_of_the_visitors_catalogue():
    # tests/unit/test_catalogues.py asks every text babel.cfg finds to be translated.
    method_map, _options = mapping("babel.cfg")
    for path in ADMIN_TEMPLATES:
        name = path.relative_to(ROOT).as_posix()
        assert not any(pathmatch(pattern, name) for pattern, _method in method_map), name


def test_admin_pot_holds_every_admin_text():
    """translations/admin.pot is what `make admin-pot` writes now: rerun it after a text
    changed."""
    method_map, options_map = mapping("babel-admin.cfg")
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
        )
    }
    with open(ROOT / "translations" / "admin.pot", "rb") as pot:
        template = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(pot)
            if message.id
        }
    assert "Log out" in extracted and "Delete %(name)s" in extracted
    assert extracted == template
