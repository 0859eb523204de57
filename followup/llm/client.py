"""The OpenAI SDK client (any OpenAI-compatible endpoint) and a streaming call.

Every way the model can fail — not configured, refused, down, slow — surfaces as
`LLMUnavailable`, so callers have one thing to catch and fall back from.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import openai
from flask import current_app
from openai.types.chat import ChatCompletion

from followup import metrics

# Our messages and tools are plain JSON already. `chat.completions.create()` would
# first re-type each of them against the SDK's TypedDicts, about 0.2 ms a message
# (4-5 ms for a 20-message chat) before a byte goes out; the SDK's generic `post`
# (its way to any endpoint, with the client's auth, timeout and errors) sends them as
# they are.
COMPLETIONS_PATH = "/chat/completions"
# The streamed chunks as the JSON they are: typing each into the SDK's models costs
# about 0.15 ms a chunk, a tenth of a streamed turn's CPU under load (bench/widget_load.py).
RAW_CHUNKS = openai.Stream[object]


class LLMUnavailable(Exception):
    """The model cannot answer now; the message says why, for logs (never for customers)."""


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCall:
    name: str
    arguments: dict


@dataclass
class Completion:
    """The whole reply once the stream ends."""

    text: str
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tool_calls: list[ToolCall] = field(default_factory=list)


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("OPENAI_API_KEY") or config.get("OPENAI_BASE_URL"))


@cache
def _client(base_url: str | None, api_key: str, timeout_s: float) -> openai.OpenAI:
    # No SDK retries: a customer is waiting, and the fallback is better than a long wait.
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)


def client() -> openai.OpenAI:
    if not is_configured():
        raise LLMUnavailable("No LLM configured (set OPENAI_API_KEY or OPENAI_BASE_URL).")
    config = current_app.config
    # Local servers (vLLM, Ollama, llama.cpp) accept any key; the SDK insists on one.
    return _client(
        config.get("OPENAI_BASE_URL"),
        config.get("OPENAI_API_KEY") or "not-needed",
        float(config["LLM_TIMEOUT_S"]),
    )


def answer_one_token() -> str:
    """Ask the model for a single token, not streamed: whether the endpoint answers
    at all (the doctor). Returns the model's name as it answered; raises LLMUnavailable."""
    body = {
        "model": current_app.config["OPENAI_MODEL"],
        "messages": [{"role": "user", "content": "Say OK."}],
        "max_tokens": 1,
    }
    try:
        completion = client().post(COMPLETIONS_PATH, body=body, cast_to=ChatCompletion)
    except openai.OpenAIError as exc:
        raise LLMUnavailable(why_not(exc)) from exc
    return completion.model or current_app.config["OPENAI_MODEL"]


def why_not(exc: openai.OpenAIError) -> str:
    """Why the endpoint gave no answer, without its text (it may quote the request)."""
    if isinstance(exc, openai.APITimeoutError):
        return f"No answer within LLM_TIMEOUT_S ({current_app.config['LLM_TIMEOUT_S']:g} s)."
    if isinstance(exc, openai.APIConnectionError):
        return "Cannot connect to the endpoint."
    if isinstance(exc, openai.APIStatusError):
        return f"The endpoint answered with an error (HTTP {exc.status_code})."
    return f"The endpoint's answer could not be read ({type(exc).__name__})."


def _tool_calls(pieces: dict[int, dict]) -> list[ToolCall]:
    calls = []
    for piece in pieces.values():
        try:
            arguments = json.loads(piece["arguments"] or "{}")
        except json.JSONDecodeError as exc:
            raise LLMUnavailable(f"The model sent unreadable tool arguments: {exc}") from exc
        calls.append(ToolCall(piece["name"], arguments if isinstance(arguments, dict) else {}))
    return calls


def _add_tool_call_piece(pieces: dict[int, dict], call: dict) -> None:
    """A streamed piece of a tool call: its name comes once, its arguments in parts."""
    piece = pieces.setdefault(call.get("index", 0), {"name": "", "arguments": ""})
    function = call.get("function") or {}
    if function.get("name"):
        piece["name"] = function["name"]
    if function.get("arguments"):
        piece["arguments"] += function["arguments"]


def _request_body(model: str, messages: list[dict], tools: list[dict] | None) -> dict:
    body = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if tools:
        body["tools"] = tools
    return body


@metrics.observe_llm_stream(Completion)
def stream_chat(
    messages: list[dict], tools: list[dict] | None = None
) -> Iterator[TextDelta | Completion]:
    """Yield the reply's text as it arrives, then one `Completion` with the rest."""
    model = current_app.config["OPENAI_MODEL"]
    text: list[str] = []
    pieces: dict[int, dict] = {}
    usage = None
    served_by = None
    try:
        stream = client().post(
            COMPLETIONS_PATH,
            body=_request_body(model, messages, tools),
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=RAW_CHUNKS,
        )
        for chunk in stream:
            served_by = chunk.get("model") or served_by
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text.append(delta["content"])
                    yield TextDelta(delta["content"])
                for call in delta.get("tool_calls") or []:
                    _add_tool_call_piece(pieces, call)
    except openai.OpenAIError as exc:
        raise LLMUnavailable(why_not(exc)) from exc
    # A streamed chunk that is not JSON, which the SDK passes on as it is.
    except ValueError as exc:
        raise LLMUnavailable(
            f"The endpoint's answer could not be read ({type(exc).__name__})."
        ) from exc
    yield Completion(
        text="".join(text),
        model=served_by or model,
        prompt_tokens=usage.get("prompt_tokens") if usage else None,
        completion_tokens=usage.get("completion_tokens") if usage else None,
        tool_calls=_tool_calls(pieces),
    )
