"""One string format for every model option.

``local``                     the embedded llama-server with SmolLM2-135M-Instruct
``anthropic:MODEL``           Anthropic Messages API (needs ANTHROPIC_API_KEY)
``openai:MODEL@BASE_URL``     any OpenAI-compatible server already running (vLLM, llama-server, ...)
``vllm:MODEL_OR_PATH``        launch ``vllm serve`` as a managed subprocess
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Provider = Literal["local", "anthropic", "openai", "vllm"]
LOCAL_MODEL_NAME = "smollm2-135m-instruct"
DEFAULT_ANTHROPIC_MODEL = "claude-opus-4-5"


class ModelSpecError(ValueError):
    """A model spec string that does not follow the format."""


class ModelSpec(BaseModel):
    """A parsed model spec."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    model: str
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse a spec string; raise ModelSpecError with a one-line reason."""
        text = text.strip()
        if text == "local":
            return cls(provider="local", model=LOCAL_MODEL_NAME)
        provider, sep, rest = text.partition(":")
        if not sep or not rest:
            raise ModelSpecError(
                f"model spec {text!r}: expected 'local', 'anthropic:MODEL', 'openai:MODEL@BASE_URL' or 'vllm:MODEL'"
            )
        if provider == "anthropic":
            return cls(provider="anthropic", model=rest)
        if provider == "vllm":
            return cls(provider="vllm", model=rest)
        if provider == "openai":
            model, at, url = rest.rpartition("@")
            if not at or not model or not url.startswith(("http://", "https://")):
                raise ModelSpecError(f"model spec {text!r}: expected 'openai:MODEL@http(s)://HOST:PORT/v1'")
            return cls(provider="openai", model=model, base_url=url.rstrip("/"))
        raise ModelSpecError(f"model spec {text!r}: unknown provider {provider!r} (local, anthropic, openai, vllm)")

    def __str__(self) -> str:
        if self.provider == "local":
            return "local"
        if self.provider == "openai":
            return f"openai:{self.model}@{self.base_url}"
        return f"{self.provider}:{self.model}"


class Endpoint(BaseModel):
    """A reachable model: which wire API to speak, where, as which model name; the server's name and
    version (``server``) and how many requests it serves at once (``slots``) when known."""

    model_config = ConfigDict(frozen=True)

    spec: ModelSpec
    api: Literal["anthropic", "openai"]
    base_url: str | None
    model: str
    api_key: str = "sk-no-key"
    server: str | None = None
    slots: int | None = None

    def identity(self) -> list[str | None]:
        """What decides this endpoint's answers: a server we launch is named by its model and software
        (its loopback port changes every run); a remote one by its URL and model."""
        if self.spec.provider in ("local", "vllm"):
            return [self.spec.provider, self.model, self.server]
        return [self.api, self.base_url, self.model, self.server]

    def server_key(self) -> tuple[str, str | None]:
        """Requests with the same key go to the same server and share its slots."""
        return (self.api, self.base_url)
