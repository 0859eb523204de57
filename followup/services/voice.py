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
# "name: …") and after it ("… please"): not part of the detail. "Oh" only with a pause
# after it ("oh, it's …"): otherwise it is a zero.
_FILLER = r"sure\s+thing|sure|yes|yeah|yep|yup|ok|okay|well|um|uh|erm|hi|hello|hey|oh(?=[,!])"
_POINTING = r"(?:it|that)'?s|(?:it|that|this)\s+is"
_THANKS = r"please|thanks(?:\s+a\s+lot)?|thank\s+you(?:\s+very\s+much)?|cheers"


# A filler word joined to the next by a symbol, written ("well.smith") or said ("well
# dot smith"), is part of the detail, not a lead-in.
_JOINED = rf"(?![.'_+-]\w)(?!\s+(?:{'|'.join(_SPOKEN_SYMBOLS)})\b)"


def _lead_in(detail: str, *more: str, pointing: bool = True) -> re.Pattern:
    """Any run of fillers and lead-ins for this detail at the start of an answer: "um",
    "my email is", "email:", the detail's own phrases (`more`), and unless the detail is
    free text that may well start so ("it's broken"), "it's" / "this is"."""
    named = rf"(?:(?:my|the)\s+)?{detail}(?:\s+is|'s)"
    phrases = [rf"(?:{_FILLER})\b{_JOINED}", named, *more] + ([_POINTING] if pointing else [])
    return re.compile(rf"^(?:\s*(?:(?:{'|'.join(phrases)})\b|{detail}\s*:)[\s,.:!-]*)+", re.I)


def _tail(*more: str) -> re.Pattern:
    """Courtesies (and the detail's own closing words, `more`) after it, and end punctuation."""
    words = "|".join((_THANKS, *more))
    return re.compile(rf"(?:[\s.,!?]+(?:{words}))*[\s.,!?]*$", re.I)


_REACH_ME = r"(?:you\s+can\s+)?(?:reach|contact|call|text|email)\s+me\s+(?:at|on)"
_LEAD_INS = {
    "email": _lead_in(r"e-?mail(?:\s+address)?", _REACH_ME, r"send\s+it\s+to"),
    "name": _lead_in(
        r"(?:full\s+|first\s+)?name",
        r"(?:i'?m|i\s+am)\s+called",  # before "i'm": the longer phrase first
        r"i\s+am",
        r"i'm",
        r"(?:you\s+can\s+)?call\s+me",
        r"i\s+go\s+by",
    ),
    "phone": _lead_in(r"(?:(?:phone|cell|mobile)(?:\s+number)?|number)", _REACH_ME),
    # The reason is the customer's own words: only what merely introduces it goes.
    "reason": _lead_in(
        r"reason",
        rf"(?:{_POINTING})\s+(?:about|regarding)",
        r"(?:i'?m|i\s+am)\s+calling\s+(?:about|regarding)",
        pointing=False,
    ),
}
_TAILS = {
    "name": _tail(r"speaking", r"here"),
}
_DEFAULT_TAIL = _tail()
# "J. O. H. N.": a letter spelled out, as speech recognition may write it.
_SPELLED_LETTER = re.compile(r"(\w)\.")


def _detail_said(heard: str, detail: str) -> str:
    """What the customer said with its lead-in, courtesies and end punctuation dropped:
    "Sure, it's Ann Lee." → "Ann Lee"."""
    # Speech recognition may write the apostrophe of "it's" as a typographic one (U+2019).
    said = heard.strip().replace("\u2019", "'")
    without_lead_in = _LEAD_INS[detail].sub("", said, count=1)
    return _TAILS.get(detail, _DEFAULT_TAIL).sub("", without_lead_in)


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


def reason_from_speech(heard: str) -> str:
    """ "Um, it's about my invoice, thanks." → "my invoice"; the rest as said."""
    return _detail_said(heard, "reason")


_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
# Speech recognition may write "oh" as the letter.
_PHONE_DIGITS = _SPOKEN_DIGITS | {"o": "0"}
_REPEATS = {"double": 2, "triple": 3}
_ZEROS = {"hundred": "00", "thousand": "000"}
_PHONE_WORD = re.compile(r"\+|\d+|[a-z]+")


def _phone_digits(words: list[str]) -> str:
    """ "plus forty four, double oh seven, one hundred" → "+44007100": digits said one by
    one, doubled or tripled, as tens ("forty four"), teens, hundreds and thousands."""
    out: list[str] = []
    repeat, tens_open = 1, False
    for word in words:
        unit = word if word.isdigit() else _PHONE_DIGITS.get(word)
        if word in ("+", "plus"):
            out.append("+")
        elif word in _REPEATS:
            repeat = _REPEATS[word]
            continue
        elif unit is not None and tens_open and len(unit) == 1 and unit != "0":
            out[-1] = out[-1][0] + unit  # "forty" "four": 44, not 404
        elif unit is not None:
            out.append(unit * repeat)
        elif word in _TEENS:
            out.append(_TEENS[word])
        elif word in _TENS:
            out.append(_TENS[word] + "0")
        elif word in _ZEROS and out:
            out.append(_ZEROS[word])
        tens_open = word in _TENS
        repeat = 1
    joined = "".join(out)
    # An international call prefix said out ("double oh four four") is the plus.
    return "+" + joined[2:] if joined.startswith("00") else joined


def phone_from_speech(heard: str) -> str:
    """ "Sure, it's plus one four one five, double five five, oh one hundred" →
    "+14155550100" (a number with its country code, in E.164)."""
    words = _PHONE_WORD.findall(_detail_said(heard, "phone").lower())
    return normalize_phone(_phone_digits(words))
