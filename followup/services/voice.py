"""Contact details by voice: an email spelled back letter by letter, and an email or a
phone number read from what the customer said (a typed one reads the same).

The dialogue that uses them, on voice and SMS alike, is `followup.services.capture`.
"""

import re

from followup.services.validation import normalize_email, normalize_phone

_SPOKEN_SYMBOLS = {
    "at": "@",
    "dot": ".",
    "underscore": "_",
    "dash": "-",
    "hyphen": "-",
    "plus": "+",
    "period": ".",
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
_LOCAL_SYMBOLS = {".": "dot", "+": "plus", "-": "dash", "_": "underscore"}


def spell_email(email: str) -> str:
    """ "john.doe+x@my-site.com" → "j-o-h-n dot d-o-e plus x at my dash site dot com"."""
    local, _, domain = email.rpartition("@")
    spoken, letters = [], []
    for char in local:
        if char in _LOCAL_SYMBOLS:
            if letters:
                spoken.append("-".join(letters))
                letters = []
            spoken.append(_LOCAL_SYMBOLS[char])
        else:
            letters.append(char)
    if letters:
        spoken.append("-".join(letters))
    domain_words = " dot ".join(label.replace("-", " dash ") for label in domain.split("."))
    return f"{' '.join(spoken)} at {domain_words}"


def email_from_speech(heard: str) -> str:
    """Turn "john dot doe at example dot com" (or a typed address) into an address."""
    words = heard.strip().lower().rstrip(".?!").split()
    joined = "".join(_SPOKEN_SYMBOLS.get(word, _SPOKEN_DIGITS.get(word, word)) for word in words)
    return normalize_email(joined)


def phone_from_speech(heard: str) -> str:
    words = re.findall(r"\+|\d+|[a-z]+", heard.lower())
    joined = "".join(
        _SPOKEN_DIGITS.get(w, "+" if w in ("+", "plus") else w)
        for w in words
        if w.isdigit() or w in _SPOKEN_DIGITS or w in ("+", "plus")
    )
    return normalize_phone(joined)
