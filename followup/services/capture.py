"""Capturing a follow-up in conversation, where no form can be shown: by voice and by SMS.

Once the agent has offered a follow-up (or could not answer at all), our code, not the
model, leads the dialogue. It starts from the details the web widget's form would be
pre-filled with, asks for what is missing (email, name, phone, reason), reads
everything back, and submits nothing before the customer says yes to the full summary.
An answer may also correct any detail it writes out in full ("my email is actually
ann@example.com", a number with its country code, "my name is …").

The channel's `Style` says how: by voice the email is spelled back letter by letter and
confirmed on its own (speech recognition, or a model reading it out, may garble it);
by SMS the customer typed every detail, so the summary shows them as typed.
"""

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from flask_babel import gettext

from followup.errors import ValidationFailed
from followup.locales import mark
from followup.models import Channel, Chat, Mode, Source
from followup.services import voice
from followup.services.followup_limits import MAX_NAME, MAX_REASON
from followup.services.prefill import NAME_SHAPE, typed_email, typed_phone

# The customer answers in the chat's language, as the questions asked them (English,
# German, Spanish, French, Russian); the words of each are recognised in every chat.
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|correct|right|sure|ok|okay|exactly|affirmative"
    r"|ja|jawohl|genau|richtig|stimmt|sí|si|claro|correcto|vale|oui|exact|exactement"
    r"|да|верно|правильно|конечно)\b",
    re.I,
)
_NO = re.compile(
    r"\b(no|nope|wrong|incorrect|not|change|nein|falsch|nicht|ändern|incorrecto|cambiar"
    r"|non|faux|pas|modifier|нет|неверно|не|изменить|исправить)\b",
    re.I,
)
_CANCEL = re.compile(
    r"\b(cancel|stop|never ?mind|forget it|no thanks|no thank you|abbrechen|vergiss es"
    r"|cancelar|olvídalo|annuler|laisse tomber|отмена|отменить|не надо)\b",
    re.I,
)
_SKIP = re.compile(
    r"\b(skip|no phone|none|don't have|do not have|überspringen|keine|omitir|ninguno"
    r"|passer|aucun|пропустить|нет телефона)\b",
    re.I,
)
# "My name is actually Ann Lee, …": a name given outright, wherever in the dialogue
# (name-shaped, so "my name is wrong" names no one).
_NAME_GIVEN = re.compile(r"\b(?i:my name(?:'s| is))\s+(?i:actually\s+)?" + NAME_SHAPE)
# Words by which the customer names the detail to change.
_FIELD_WORDS = {
    "email": ("email", "e-mail", "correo", "courriel", "почт"),
    "name": ("name", "nombre", "nom", "имя"),
    "phone": ("phone", "number", "telefon", "nummer", "teléfono", "número", "numéro", "номер"),
    "reason": ("reason", "anliegen", "motivo", "motif", "причин"),
}
FIELDS = tuple(_FIELD_WORDS)


@dataclass
class CaptureState:
    """A follow-up being captured, kept in `Chat.followup_capture` as the JSON it always
    was: the style and the two flags are stored only once set (a capture begun before
    SMS had one has no style: it is by voice)."""

    email: str | None = None
    name: str | None = None
    phone: str | None = None
    reason: str | None = None
    style: str | None = None
    summary: str | None = None
    priority: str | None = None
    step: str | None = None  # the question asked last
    email_confirmed: bool | None = None
    phone_asked: bool | None = None

    @classmethod
    def from_json(cls, data: dict) -> "CaptureState":
        return cls(**{field.name: data.get(field.name) for field in fields(cls)})

    def to_json(self) -> dict:
        stored_once_set = ("style", "email_confirmed", "phone_asked")
        return {
            key: value
            for key, value in asdict(self).items()
            if value is not None or key not in stored_once_set
        }


@dataclass(frozen=True)
class Style:
    """How one channel captures a follow-up, and what the model is told about it."""

    key: str  # stored with the capture's progress
    source: Source
    mode: Mode  # the mode of the agent's messages
    spell_back: bool  # confirm the email on its own, spelled letter by letter
    # Each question, and the apologies for what could not be read (in English, marked:
    # said with `gettext`, in the chat's language).
    says: dict[str, str]
    summary: Callable[[CaptureState], str]  # every detail read back, asking for a yes
    after_offer: str  # for the model: what happens once it calls the tool
    writing: str  # for the model: how to write on this channel


def _spoken_summary(state: CaptureState) -> str:
    details = {"name": state.name, "email": voice.spell_email(state.email)}
    if state.phone:
        return gettext(
            "Let me confirm: name %(name)s, email %(email)s, phone %(phone)s. "
            "Shall I send your request to the team?",
            phone=" ".join(state.phone),
            **details,
        )
    return gettext(
        "Let me confirm: name %(name)s, email %(email)s, no phone. "
        "Shall I send your request to the team?",
        **details,
    )


def _texted_summary(state: CaptureState) -> str:
    return gettext(
        "Please check your details:\n"
        "Name: %(name)s\n"
        "Email: %(email)s\n"
        "Phone: %(phone)s\n"
        "Request: %(reason)s\n"
        "Reply YES to send this to our team, or tell me what to change.",
        name=state.name,
        email=state.email,
        phone=state.phone or gettext("none"),
        reason=state.reason,
    )


_QUESTIONS = {
    "email": mark("What's your email address?"),
    "name": mark("What's your name?"),
    "reason": mark("What would you like our team to help you with?"),
}

VOICE = Style(
    key="voice",
    source=Source.VOICE,
    mode=Mode.VOICE,
    spell_back=True,
    says=_QUESTIONS
    | {
        "phone": mark(
            "What phone number can we reach you on? Please include the country code, or say skip."
        ),
        "which": mark("What should I change: your email, your name, or your phone number?"),
        "bad_email": mark("Sorry, I didn't catch a valid email address. Could you say it again?"),
        "bad_phone": mark(
            "Sorry, I couldn't understand that number. Please say it with the country code, "
            "or say skip."
        ),
    },
    summary=_spoken_summary,
    after_offer="they will then be asked for their contact details by voice and confirm them",
    writing="Your replies are read aloud: write plain spoken sentences, no markdown or lists.",
)

SMS = Style(
    key="sms",
    source=Source.TEXT,  # CONTRACT.md: a typed conversation is "text" (its chat says SMS)
    mode=Mode.TEXT,
    spell_back=False,
    says=_QUESTIONS
    | {
        "phone": mark(
            "What phone number can we reach you on? Please include the country code, or reply SKIP."
        ),
        "which": mark(
            "What should I change: your email, name, phone number or the reason? "
            "You can also just type the new detail."
        ),
        "bad_email": mark(
            "Sorry, that doesn't look like an email address. Please type it again, "
            "like name@example.com."
        ),
        "bad_phone": mark(
            "Sorry, that doesn't look like a phone number. Please include the country code, "
            "like +1 415 555 0100, or reply SKIP."
        ),
    },
    summary=_texted_summary,
    after_offer=(
        "they will then be asked for their contact details by text message and confirm them"
    ),
    writing=(
        "You are texting with the customer by SMS: write plain text only (no markdown, "
        "no lists, no emoji codes) and keep each message short."
    ),
)

STYLES = {style.key: style for style in (VOICE, SMS)}


def style_for(chat: Chat, mode: str = Mode.TEXT) -> Style | None:
    """How a follow-up is captured in this chat now; None where the form is shown."""
    if mode == Mode.VOICE:
        return VOICE
    if chat.channel == Channel.SMS:
        return SMS
    return None


@dataclass(frozen=True)
class Step:
    """What the agent says next, or the confirmed details to submit (with what the
    agent said about the request: its summary and priority)."""

    say: str = ""
    submit: dict | None = None
    offer: dict | None = None


def capturing(chat: Chat) -> bool:
    return bool(chat.followup_capture)


def _state(chat: Chat) -> CaptureState:
    return CaptureState.from_json(chat.followup_capture)


def style_of(chat: Chat) -> Style:
    """The style of the capture under way (those begun before SMS had one were by voice)."""
    return STYLES[_state(chat).style or VOICE.key]


def _save(chat: Chat, state: CaptureState | None) -> None:
    # Assign a new dict: JSON columns do not notice changes made in place.
    chat.followup_capture = state.to_json() if state else None


def _next_step_name(state: CaptureState, style: Style) -> str:
    """The first detail still missing or unconfirmed, else the full summary."""
    if not state.email:
        return "email"
    if style.spell_back and not state.email_confirmed:
        return "confirm_email"
    if not state.name:
        return "name"
    if not state.phone and not state.phone_asked:
        return "phone"
    if not state.reason:
        return "reason"
    return "confirm_all"


def _ask(state: CaptureState, style: Style, step: str) -> str:
    state.step = step
    if step == "confirm_email":
        return gettext("That's %(email)s, correct?", email=voice.spell_email(state.email))
    if step == "confirm_all":
        return style.summary(state)
    return gettext(style.says[step])


def _ask_next(state: CaptureState, style: Style) -> str:
    return _ask(state, style, _next_step_name(state, style))


def begin(chat: Chat, style: Style, form: dict, lead: str = "") -> str:
    """Start capturing the details of this follow-up form (see `chats.followup_form_action`);
    returns what the agent says: its own words, then our first question."""
    prefill = form["prefill"]
    state = CaptureState(
        **{field: prefill.get(field) or None for field in FIELDS},
        style=style.key,
        summary=form.get("summary"),
        priority=form.get("priority"),
    )
    question = _ask_next(state, style)
    _save(chat, state)
    return f"{lead} {question}".strip()


def _details_in(answer: str) -> dict:
    """The details an answer writes out in full: an email address, a number with its
    country code, "my name is …"."""
    given = _NAME_GIVEN.search(answer)
    found = {
        "email": typed_email(answer),
        "phone": typed_phone(answer),
        "name": given.group(1)[:MAX_NAME] if given else None,
    }
    return {field: value for field, value in found.items() if value}


def _correct(state: CaptureState, found: dict) -> None:
    if found.get("email", state.email) != state.email:
        state.email_confirmed = False  # a new address is spelled back again
    for field, value in found.items():
        setattr(state, field, value)


def _agrees(answer: str) -> bool:
    return bool(_YES.search(answer)) and not _NO.search(answer)


def _ask_named_detail(state: CaptureState, style: Style, answer: str, otherwise: str) -> str:
    """Go to the detail the customer names ("the phone"), else to `otherwise`."""
    lowered = answer.lower()
    named = (f for f, words in _FIELD_WORDS.items() if any(w in lowered for w in words))
    return _ask(state, style, next(named, otherwise))


def _read_detail(state: CaptureState, style: Style, field: str, answer: str) -> Step:
    """The answer to our question about this one detail."""
    try:
        if field == "email":
            state.email = voice.email_from_speech(answer)
            state.email_confirmed = False
        elif field == "phone":
            state.phone = None if _SKIP.search(answer) else voice.phone_from_speech(answer)
            state.phone_asked = True
        elif field == "name":
            state.name = voice.name_from_speech(answer)[:MAX_NAME] or None
        else:
            state.reason = voice.reason_from_speech(answer)[:MAX_REASON] or None
    except ValidationFailed:
        return Step(gettext(style.says[f"bad_{field}"]))
    return Step(_ask_next(state, style))


def _handle(state: CaptureState, style: Style, answer: str) -> Step:
    step = state.step
    # The reason is the customer's own words: an address, a number or "my name is …"
    # in it is part of the request, not a correction.
    if step != "reason" and (found := _details_in(answer)):
        _correct(state, found)
        return Step(_ask_next(state, style))
    if step == "confirm_all":
        if _agrees(answer):
            submit = {field: getattr(state, field) for field in FIELDS}
            return Step(submit=submit, offer={"summary": state.summary, "priority": state.priority})
        return Step(_ask_named_detail(state, style, answer, otherwise="which"))
    if step == "which":
        return Step(_ask_named_detail(state, style, answer, otherwise="confirm_all"))
    if step == "confirm_email":
        if _agrees(answer):
            state.email_confirmed = True
            return Step(_ask_next(state, style))
        sorry = gettext("Sorry about that.")
        return Step(f"{sorry} {_ask(state, style, 'email')}")
    return _read_detail(state, style, step, answer)


def _cancels(state: CaptureState, answer: str) -> bool:
    """ "Never mind" and the like end the capture; while the reason is asked for, only
    when that is all the answer says ("cancel my subscription" is a reason)."""
    if state.step == "reason":
        return bool(_CANCEL.fullmatch(answer.strip(" .!?")))
    return bool(_CANCEL.search(answer))


def next_step(chat: Chat, answer: str) -> Step:
    """Advance the capture with the customer's answer."""
    state = _state(chat)
    if _cancels(state, answer):
        _save(chat, None)
        return Step(gettext("OK, I won't send a request. Is there anything else I can help with?"))
    result = _handle(state, style_of(chat), answer)
    _save(chat, state)
    return result


def finish(chat: Chat) -> None:
    """The request was saved, or can no longer be: the capture is over."""
    _save(chat, None)


def ask_again(chat: Chat, field: str, problem: str) -> str:
    """The details were refused on submit: go back to the detail at fault."""
    state = _state(chat)
    question = _ask(state, style_of(chat), field if field in FIELDS else "which")
    _save(chat, state)
    sorry = gettext("Sorry, I couldn't send that.")
    return f"{sorry} {problem} {question}"
