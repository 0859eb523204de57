"""The model client against the local OpenAI-compatible server: what it sends, how the
stream and its tool calls are read, and every failure surfacing as `LLMUnavailable`."""

import pytest

from followup.llm.client import Completion, LLMUnavailable, TextDelta, ToolCall, stream_chat
from tests.fakes.blackhole import Blackhole
from tests.fakes.openai_server import OFFER_TEXT
from tests.helpers.apps import build_app

MODEL = "test-model"
TOOL = {
    "type": "function",
    "function": {
        "name": "offer_followup",
        "description": "Offer the follow-up form.",
        "parameters": {"type": "object", "properties": {}},
    },
}


@pytest.fixture
def llm_app(fake_llm):
    """No database: the client needs the app's config alone."""
    app = build_app(
        "sqlite://",
        OPENAI_BASE_URL=fake_llm.base_url,
        OPENAI_API_KEY="test-key",
        OPENAI_MODEL=MODEL,
        LLM_TIMEOUT_S=2.0,
    )
    with app.app_context():
        yield app


def said(text: str) -> list[dict]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


def test_sends_the_plain_chat_completions_body(llm_app, fake_llm):
    list(stream_chat(said("hello")))
    list(stream_chat(said("hello"), [TOOL]))
    without_tools, with_tools = fake_llm.requests
    assert without_tools == {
        "model": MODEL,
        "messages": said("hello"),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert with_tools == without_tools | {"tools": [TOOL]}


def test_text_streams_then_the_completion_with_usage_and_tool_calls(llm_app, fake_llm):
    events = list(stream_chat(said("Can a person call me?"), [TOOL]))
    *deltas, completion = events
    assert deltas and all(isinstance(event, TextDelta) for event in deltas)
    assert isinstance(completion, Completion)
    assert "".join(delta.text for delta in deltas) == completion.text == OFFER_TEXT
    assert completion.model == MODEL and completion.prompt_tokens and completion.completion_tokens
    # The arguments arrive in two pieces; the call is whole once the stream ends.
    assert completion.tool_calls == [
        ToolCall(
            "offer_followup",
            {
                "reason": "Customer asked: Can a person call me?",
                "summary": "The customer asked to be contacted by a person.",
                "priority": "normal",
            },
        )
    ]


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_an_error_status_is_llm_unavailable(llm_app, fake_llm, status):
    fake_llm.behaviour.fail_status = status
    with pytest.raises(LLMUnavailable, match=str(status)) as failure:
        list(stream_chat(said("my card is 4242")))
    # The reason goes to the logs: never the endpoint's text, which may quote the request.
    assert "4242" not in str(failure.value)


def test_no_first_token_in_time_is_llm_unavailable(llm_app, fake_llm):
    llm_app.config["LLM_TIMEOUT_S"] = 0.3
    fake_llm.behaviour.first_token_delay_s = 0.6
    with pytest.raises(LLMUnavailable, match="No answer within LLM_TIMEOUT_S"):
        list(stream_chat(said("hello")))


def test_a_server_that_never_answers_is_llm_unavailable_after_one_try(llm_app):
    """It takes the connection and says nothing, not even headers: the call gives up
    after LLM_TIMEOUT_S, and the SDK does not try again (max_retries=0)."""
    blackhole = Blackhole().start()
    try:
        llm_app.config.update(OPENAI_BASE_URL=blackhole.base_url, LLM_TIMEOUT_S=0.5)
        with pytest.raises(LLMUnavailable, match="No answer within LLM_TIMEOUT_S"):
            list(stream_chat(said("hello")))
        assert blackhole.accepted == 1
    finally:
        blackhole.stop()


def test_a_stream_that_stalls_midway_is_llm_unavailable(llm_app, fake_llm):
    """The text so far has reached the caller; the turn must still end in its fallback."""
    # The first piece must arrive within the timeout even on a loaded machine.
    llm_app.config["LLM_TIMEOUT_S"] = 1.0
    fake_llm.behaviour.token_delay_s = 2.0
    received = []
    with pytest.raises(LLMUnavailable, match="No answer within LLM_TIMEOUT_S"):
        for event in stream_chat(said("hello there")):
            received.append(event)
    assert received == [TextDelta("You")]


def test_a_chunk_that_is_not_json_is_llm_unavailable(llm_app, fake_llm):
    fake_llm.behaviour.garbled = True
    with pytest.raises(LLMUnavailable, match="JSONDecodeError"):
        list(stream_chat(said("hello there")))


def test_no_model_configured_is_llm_unavailable(llm_app):
    llm_app.config.update(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)
    with pytest.raises(LLMUnavailable, match="No LLM configured"):
        list(stream_chat(said("hello")))
