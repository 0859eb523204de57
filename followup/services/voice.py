"""Contact details by voice: an email spelled back letter by letter, and an email, a
name or a phone number read from what the customer said (a typed one reads the same).

The dialogue that uses them, on voice and SMS alike, is `followup.services.capture`.
"""

import re

from flask_babel import gettext

from followup.locales import mark
from followup.services.validation import normalize_email, normalize_phone

_SPOKEN_SYMBOLS = {
    "at": "@",
    "dot": ".",
    "underscore": "_",
    "dash": "-",
    "hyphen": "-",
    "plus": "+",
    "period": ".",
    "apostrophe": "'",
}
_SPOKEN_DIGITS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# How a symbol of an address is spelled back, in the customer's language.
_SYMBOL_WORDS = {
    "@": mark("at"),
    ".": mark("dot"),
    "+": mark("plus"),
    "-": mark("dash"),
    "_": mark("underscore"),
    "'": mark("apostrophe"),
}
_LOCAL_SYMBOLS = frozenset(".+-_'")

# What people say before the detail we asked for ("sure, it's …", "my email is …",
# "name: …") and after it ("… please"): not part of the detail.
_FILLER = r"sure|yes|yeah|yep|yup|ok|okay|well|um|uh|erm"
_POINTING = r"(?:it|that)'?s|(?:it|that|this)\s+is"


# A filler word joined to the next by a symbol, written ("well.smith") or said ("well
# dot smith"), is part of the detail, not a lead-in.
_JOINED = rf"(?![.'_+-]\w)(?!\s+(?:{'|'.join(_SPOKEN_SYMBOLS)})\b)"


def _lead_in(detail: str, *more: str) -> re.Pattern:
    """Any run of fillers and lead-ins for this detail at the start of an answer."""
    named = rf"(?:(?:my|the)\s+)?{detail}(?:\s+is|'s)"
    phrases = "|".join((rf"(?:{_FILLER})\b{_JOINED}", _POINTING, named, *more))
    return re.compile(rf"^(?:\s*(?:(?:{phrases})\b|{detail}\s*:)[\s,.:!-]*)+", re.I)


_LEAD_INS = {
    "email": _lead_in(r"e-?mail(?:\s+address)?"),
    "name": _lead_in(r"name", r"i\s+am", r"i'm", r"call\s+me"),
}
_TAIL = re.compile(r"(?:[\s.,!?]+(?:please|thanks|thank\s+you))?[\s.,!?]*$", re.I)
# "J. O. H. N.": a letter spelled out, as speech recognition may write it.
_SPELLED_LETTER = re.compile(r"(\w)\.")


def _detail_said(heard: str, detail: str) -> str:
    """What the customer said with its lead-in, courtesies and end punctuation dropped:
    "Sure, it's Ann Lee." → "Ann Lee"."""
    # Speech recognition may write the apostrophe of "it's" as a typographic one (U+2019).
    said = heard.strip().replace("\u2019", "'")
    return _TAIL.sub("", _LEAD_INS[detail].sub("", said, count=1))


def _word(symbol: str) -> str:
    return gettext(_SYMBOL_WORDS[symbol])


def spell_email(email: str) -> str:
    """ "john.doe+x@my-site.com" → "j-o-h-n dot d-o-e plus x at my dash site dot com"
    (in German "… Punkt … at my Bindestrich site Punkt com")."""
    local, _, domain = email.rpartition("@")
    spoken, letters = [], []
    for char in local:
        if char in _LOCAL_SYMBOLS:
            if letters:
                spoken.append("-".join(letters))
                letters = []
            spoken.append(_word(char))
        else:
            letters.append(char)
    if letters:
        spoken.append("-".join(letters))
    dash, dot = f" {_word('-')} ", f" {_word('.')} "
    domain_words = dot.join(label.replace("-", dash) for label in domain.split("."))
    return f"{' '.join(spoken)} {_word('@')} {domain_words}"


def _email_part(word: str) -> str:
    if letter := _SPELLED_LETTER.fullmatch(word):
        return letter.group(1)
    return _SPOKEN_SYMBOLS.get(word, _SPOKEN_DIGITS.get(word, word))


def email_from_speech(heard: str) -> str:
    """Turn "my email is john dot doe at example dot com" (or a typed address) into an
    address: spelled letters join up ("j o h n"), spoken symbols become symbols."""
    words = _detail_said(heard, "email").lower().replace(",", " ").split()
    joined = "".join(_email_part(word) for word in words)
    return normalize_email(joined)


def name_from_speech(heard: str) -> str:
    """ "Yeah, my name is Ann Lee." → "Ann Lee" ("" when only a lead-in was said)."""
    return _detail_said(heard, "name")


def phone_from_speech(heard: str) -> str:
    words = re.findall(r"\+|\d+|[a-z]+", heard.lower())
    joined = "".join(
        _SPOKEN_DIGITS.get(w, "+" if w in ("+", "plus") else w)
        for w in words
        if w.isdigit() or w in _SPOKEN_DIGITS or w in ("+", "plus")
    )
    return normalize_phone(joined)
