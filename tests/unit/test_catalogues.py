"""Every text a customer sees is translated in every catalogue: the messages are
extracted from the code and templates as `babel.cfg` says (Babel's own extractor), and
each must be in each translations/<lang>/LC_MESSAGES/messages.po, translated, not fuzzy,
with the same placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from followup.locales import DEFAULT_LANGUAGE, Language

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in Language if language != DEFAULT_LANGUAGE]
# %(name)s / %(num)d, as gettext formats them; {name}, should a str.format text slip in.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def extracted() -> dict[str, tuple[str, ...]]:
    """Each msgid the code and templates mark, with its plural when it has one."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = DEFAULT_KEYWORDS | {"mark": None}
    messages = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        forms = message if isinstance(message, tuple) else (message,)
        messages[forms[0]] = forms
    return messages


MESSAGES = extracted()


def catalogue(language: Language):
    path = ROOT / "translations" / language.value / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as po:
        return read_po(po, locale=language.value)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_extraction_finds_the_customers_texts():
    # A broken babel.cfg or extractor would find nothing, and every check pass.
    for expected in ("Contact us", "Try again", "%(business)s: we received your request"):
        assert expected in MESSAGES
    assert "Log in to the chat" in MESSAGES  # the customer login page
    assert "dot" in MESSAGES  # marked with `mark`
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("language", TRANSLATED, ids=str)
def test_every_text_is_translated(language):
    translations = catalogue(language)
    problems = []
    for msgid, forms in MESSAGES.items():
        entry = translations.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(forms) > 1 and len(strings) != translations.num_plurals:
            problems.append(f"wrong number of plural forms: {msgid!r}")
        if not all(s.strip() for s in strings):
            problems.append(f"not translated: {msgid!r}")
        wanted = set().union(*(placeholders(form) for form in forms))
        for string in strings:
            if placeholders(string) != wanted:
                problems.append(f"placeholders differ: {msgid!r} → {string!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED, ids=str)
def test_no_catalogue_keeps_texts_nobody_marks_any_more(language):
    stale = [m.id for m in catalogue(language) if m.id and m.id not in MESSAGES]
    stale = [m for m in stale if not (isinstance(m, tuple) and m[0] in MESSAGES)]
    assert not stale, "Run pybabel update (README: Translations): " + repr(stale)
