"""Talking to the language model: the OpenAI SDK client, the agent's prompt and tool."""
