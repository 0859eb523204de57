"""A local server that speaks OpenAI's Chat Completions protocol, for tests and benchmarks.

The real `openai` SDK talks HTTP to it. Replies follow simple rules so a test can
steer them by what the customer says, and `behaviour` switches on failures:

- a message asking for a person ("human", "person", "call me", …) gets a short
  reply and a call of the `offer_followup` tool when the request offered it;
- anything else gets "You said: <text>";
- `behaviour.fail_status = 500` answers every request with that error;
- `behaviour.first_token_delay_s` / `token_delay_s` make it slow (timeouts);
- `behaviour.garbled` breaks a streamed reply with a chunk that is not JSON;
- `behaviour.on_request(body)` is called as each request arrives (in the server's
  thread), for a test to look at the world while the model "thinks".

It also speaks the audio endpoints:

- `POST /v1/audio/transcriptions` (multipart: `model`, `file`) answers {"text": …}
  with the next of `behaviour.heard`, the test's script of what it hears ("" when
  the script ran out);
- `POST /v1/audio/speech` (JSON: `model`, `input`, `voice`) answers a short WAV;
  `behaviour.speech_status = 404` answers that error instead (no speech model here).

`fail_status` fails these too. Every request body is kept in `requests` so tests can
check prompts and tools; each audio request in `audio_requests` (the path, the form
fields or JSON, and the uploaded file's size, name and type).
"""

import email.parser
import email.policy
import io
import json
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes import local_http

HUMAN_PATTERN = re.compile(r"\b(human|person|someone|call me|talk to|speak to|staff)\b", re.I)
OFFER_TEXT = "I can ask our team to contact you personally."


@dataclass
class Behaviour:
    fail_status: int | None = None
    first_token_delay_s: float = 0.0
    token_delay_s: float = 0.0
    reply_text: str | None = None  # overrides the rule-based text when set ("": no text)
    tool_arguments: dict | None = None  # overrides the tool call arguments
    garbled: bool = False  # the stream's second chunk is not JSON (a broken proxy, say)
    on_request: Callable[[dict], None] | None = None
    heard: list[str] = field(default_factory=list)  # the transcriptions to answer, in order
    speech_status: int | None = None  # the speech endpoint answers this error (404: none)


@dataclass
class FakeOpenAI:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[dict] = field(default_factory=list)
    audio_requests: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.requests.clear()
        self.audio_requests.clear()

    def start(self) -> "FakeOpenAI":
        self.server = local_http.serve(_Handler, self)
        return self

    def stop(self) -> None:
        local_http.stop(self.server)


def _last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _offers_followup_tool(body: dict) -> bool:
    return any(tool["function"]["name"] == "offer_followup" for tool in body.get("tools") or [])


def plan_reply(body: dict, behaviour: Behaviour) -> tuple[str, dict | None]:
    """The text and the optional tool call arguments the fake model answers with."""
    text = _last_user_text(body)
    override = behaviour.reply_text
    if HUMAN_PATTERN.search(text):
        arguments = None
        if _offers_followup_tool(body):
            arguments = behaviour.tool_arguments or {
                "reason": f"Customer asked: {text[:200]}",
                "summary": "The customer asked to be contacted by a person.",
                "priority": "high" if "urgent" in text.lower() else "normal",
            }
        return OFFER_TEXT if override is None else override, arguments
    return f"You said: {text}" if override is None else override, None


def short_wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    """A valid WAV file of silence, small enough for any test."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def _multipart_form(content_type: str, data: bytes) -> dict:
    """The fields of a multipart/form-data body; a file field as {size, filename, type}."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    form = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            form[name] = {
                "size": len(payload),
                "filename": part.get_filename(),
                "type": part.get_content_type(),
            }
        else:
            form[name] = payload.decode()
    return form


def _usage(body: dict, reply: str) -> dict:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    completion = max(1, len(reply.split()))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(length)
        if "/audio/" in self.path:
            return self._audio(data)
        body = json.loads(data or b"{}")
        self.owner.requests.append(body)
        behaviour = self.owner.behaviour
        if behaviour.on_request:
            behaviour.on_request(body)
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._json(401, {"error": {"message": "Missing API key", "type": "auth"}})
        if not self.path.endswith("/chat/completions"):
            return self._json(404, {"error": {"message": "Unknown path", "type": "not_found"}})
        if behaviour.fail_status:
            return self._json(
                behaviour.fail_status,
                # Quoting the request, as a provider's validation error may.
                {"error": {"message": f"Down; it read {_last_user_text(body)}", "type": "server"}},
            )
        time.sleep(behaviour.first_token_delay_s)
        reply, arguments = plan_reply(body, behaviour)
        if body.get("stream"):
            return self._stream(body, reply, arguments, behaviour)
        return self._json(200, self._completion(body, reply, arguments))

    def _audio(self, data: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            form = _multipart_form(content_type, data)
        else:
            form = json.loads(data or b"{}")
        self.owner.audio_requests.append({"path": self.path, **form})
        behaviour = self.owner.behaviour
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._json(401, {"error": {"message": "Missing API key", "type": "auth"}})
        if behaviour.fail_status:
            down = {"error": {"message": "Down", "type": "server"}}
            return self._json(behaviour.fail_status, down)
        if self.path.endswith("/audio/transcriptions"):
            if not isinstance(form.get("file"), dict) or not form.get("model"):
                return self._json(400, {"error": {"message": "file and model", "type": "invalid"}})
            heard = behaviour.heard.pop(0) if behaviour.heard else ""
            return self._json(200, {"text": heard})
        if self.path.endswith("/audio/speech") and not behaviour.speech_status:
            return self._bytes(200, "audio/wav", short_wav())
        status = behaviour.speech_status or 404
        return self._json(status, {"error": {"message": "No such model", "type": "not_found"}})

    def _completion(self, body: dict, reply: str, arguments: dict | None) -> dict:
        message = {"role": "assistant", "content": reply}
        if arguments is not None:
            message["tool_calls"] = [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "offer_followup", "arguments": json.dumps(arguments)},
                }
            ]
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if arguments else "stop",
                }
            ],
            "usage": _usage(body, reply),
        }

    def _chunk(self, body: dict, delta: dict, finish: str | None = None) -> dict:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def _stream(self, body: dict, reply: str, arguments: dict | None, behaviour: Behaviour) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self._event(self._chunk(body, {"role": "assistant", "content": ""}))
        if behaviour.garbled:
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "Hel\n\n')
        for index, word in enumerate(reply.split(" ")):
            if index:
                time.sleep(behaviour.token_delay_s)
            self._event(self._chunk(body, {"content": word if index == 0 else " " + word}))
        if arguments is not None:
            encoded = json.dumps(arguments)
            half = len(encoded) // 2  # tool arguments arrive in pieces, as they do for real
            self._event(
                self._chunk(
                    body,
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "offer_followup", "arguments": encoded[:half]},
                            }
                        ]
                    },
                )
            )
            self._event(
                self._chunk(
                    body, {"tool_calls": [{"index": 0, "function": {"arguments": encoded[half:]}}]}
                )
            )
        self._event(self._chunk(body, {}, "tool_calls" if arguments else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**self._chunk(body, {}), "choices": [], "usage": _usage(body, reply)})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict) -> None:
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, payload: dict) -> None:
        self._bytes(status, "application/json", json.dumps(payload).encode())

    def _bytes(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
