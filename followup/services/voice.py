"""Capturing a follow-up by voice: ask, spell back, confirm — run by our code, not the model.

A language model may garble an address it reads back, so once the agent offers a
follow-up in a voice chat this module leads the dialogue: email (spelled back
letter by letter), name, phone, then a confirmation of everything. Nothing is
submitted before the customer says yes to the full summary.
"""

import re
from dataclasses import dataclass

from followup.errors import ValidationFailed
from followup.models import Chat
from followup.services.prefill import Prefill
from followup.services.validation import normalize_email, normalize_phone

_YES = re.compile(r"\b(yes|yeah|yep|yup|correct|right|sure|ok|okay|exactly|affirmative)\b", re.I)
_NO = re.compile(r"\b(no|nope|wrong|incorrect|not|change)\b", re.I)
_CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it)\b", re.I)
_SKIP = re.compile(r"\b(skip|no phone|none|don't have|do not have)\b", re.I)
_NAME_LEAD = re.compile(r"^(?:my name is|my name's|it's|it is|i am|i'm|this is|call me)\s+", re.I)

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

ASK_EMAIL = "What's your email address?"
ASK_NAME = "What's your name?"
ASK_PHONE = "What phone number can we reach you on? Please include the country code, or say skip."
ASK_WHICH = "What should I change: your email, your name, or your phone number?"


@dataclass(frozen=True)
class Step:
    """What the agent says next, or the confirmed details to submit."""

    say: str = ""
    submit: dict | None = None


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


def capturing(chat: Chat) -> bool:
    return bool(chat.voice_capture)


def _save(chat: Chat, state: dict | None) -> None:
    # Assign a new dict: JSON columns do not notice changes made in place.
    chat.voice_capture = dict(state) if state else None


def _confirm_email(state: dict) -> str:
    return f"That's {spell_email(state['email'])}, correct?"


def _summary(state: dict) -> str:
    phone = f", phone {' '.join(state['phone'])}" if state.get("phone") else ", no phone"
    return (
        f"Let me confirm: name {state['name']}, email {spell_email(state['email'])}{phone}. "
        "Shall I send your request to the team?"
    )


QUESTIONS = {"email": ASK_EMAIL, "name": ASK_NAME, "phone": ASK_PHONE, "which": ASK_WHICH}


def _ask(state: dict, step: str) -> str:
    state["step"] = step
    if step == "confirm_email":
        return _confirm_email(state)
    if step == "confirm_all":
        return _summary(state)
    return QUESTIONS[step]


def _after_email(state: dict) -> str:
    if state.get("confirmed_all_once"):
        return _ask(state, "confirm_all")
    return _ask(state, "name") if not state.get("name") else _ask(state, "phone")


def begin_capture(chat: Chat, prefill: Prefill, arguments: dict, lead: str = "") -> str:
    """Start capturing; returns what the agent says (the model's offer, then our question)."""
    state = {
        "email": prefill.email,
        "name": prefill.name,
        "phone": prefill.phone,
        "reason": str(arguments.get("reason") or "")[:2000],
    }
    question = _ask(state, "confirm_email") if state["email"] else _ask(state, "email")
    _save(chat, state)
    return f"{lead} {question}".strip()


def _handle(state: dict, answer: str) -> Step:
    step = state["step"]
    if step == "email":
        try:
            state["email"] = email_from_speech(answer)
        except ValidationFailed:
            return Step("Sorry, I didn't catch a valid email address. Could you say it again?")
        return Step(_ask(state, "confirm_email"))
    if step == "confirm_email":
        if _YES.search(answer) and not _NO.search(answer):
            return Step(_after_email(state))
        return Step("Sorry about that. " + _ask(state, "email"))
    if step == "name":
        name = _NAME_LEAD.sub("", answer.strip()).strip(" .!?")
        if not name:
            return Step(ASK_NAME)
        state["name"] = name[:200]
        return Step(_ask(state, "confirm_all" if state.get("confirmed_all_once") else "phone"))
    if step == "phone":
        if _SKIP.search(answer):
            state["phone"] = None
        else:
            try:
                state["phone"] = phone_from_speech(answer)
            except ValidationFailed:
                return Step(
                    "Sorry, I couldn't understand that number. Please say it with the "
                    "country code, or say skip."
                )
        return Step(_ask(state, "confirm_all"))
    if step == "confirm_all":
        state["confirmed_all_once"] = True
        if _YES.search(answer) and not _NO.search(answer):
            details = {k: state.get(k) for k in ("name", "email", "phone", "reason")}
            details["reason"] = details["reason"] or "Asked for a follow-up by voice."
            return Step(submit=details)
    # "No", or "which" answered: go to the detail the customer names, else ask which.
    for field in ("email", "name", "phone"):
        if field in answer.lower():
            return Step(_ask(state, field))
    return Step(_ask(state, "which"))


def next_step(chat: Chat, answer: str) -> Step:
    """Advance the capture with the customer's answer."""
    if _CANCEL.search(answer):
        _save(chat, None)
        return Step("OK, I won't send a request. Is there anything else I can help with?")
    state = dict(chat.voice_capture)
    result = _handle(state, answer)
    _save(chat, state)
    return result


def finish(chat: Chat) -> None:
    """The request was saved: the capture is over."""
    _save(chat, None)


def ask_again(chat: Chat, field: str, problem: str) -> str:
    """The details were refused on submit: go back to the field at fault."""
    state = dict(chat.voice_capture)
    question = _ask(state, field if field in ("email", "name", "phone") else "email")
    _save(chat, state)
    return f"Sorry, there's a problem with your {field}: {problem} {question}"
