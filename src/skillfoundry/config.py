"""One settings object: where data goes, which models run, how much concurrency and budget."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.spec import DEFAULT_ANTHROPIC_MODEL


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("skillfoundry")) / "data"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("skillfoundry"))


def default_teacher() -> str:
    """Claude when an API key is set, else the embedded local model (nothing leaves the machine)."""
    return f"anthropic:{DEFAULT_ANTHROPIC_MODEL}" if os.environ.get("ANTHROPIC_API_KEY") else "local"


class Settings(BaseSettings):
    """Run settings; every field can be set as SKILLFOUNDRY_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="SKILLFOUNDRY_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    cache_dir: Path = Field(default_factory=default_cache_dir)
    teacher: str = Field(default_factory=default_teacher)
    students: list[str] = Field(default_factory=lambda: ["local"])
    judge: str | None = None
    suite: str = "native"  # kernel problem suite: the built-in one, or an imported KernelBench level (kernelbench-l1)
    cases: int = Field(default=3, ge=1)
    train_cases: int = Field(default=1, ge=1)
    epochs: int = Field(default=2, ge=1)
    refine_rounds: int = Field(default=0, ge=0)
    seed: int = 0
    temperature: float = Field(default=0.7, ge=0.0)
    max_tokens: int = Field(default=512, ge=1)
    teacher_max_turns: int = Field(default=6, ge=1)
    teacher_max_tokens: int = Field(default=1024, ge=1)
    skill_max_tokens: int = Field(default=2048, ge=256)
    concurrency: int = Field(default=8, ge=1)
    request_timeout_s: float = Field(default=120.0, gt=0, description="one attempt, counted from its send")
    request_attempts: int = Field(default=6, ge=1, description="tries per model request, the first included")
    request_deadline_s: float = Field(default=900.0, gt=0, description="all tries of one request")
    response_cache: bool = Field(default=True, description="serve seeded requests from the on-disk answer cache")
    budget_usd: float | None = Field(default=None, ge=0, description="stop the run before it spends more (USD)")
    llama_threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    llama_slots: int = Field(default=8, ge=1)
    llama_ctx_per_slot: int = Field(default=8192, ge=512)
    vllm_args: list[str] = Field(default_factory=list, description="extra arguments for every vLLM server we launch")

    @property
    def retry_policy(self) -> RetryPolicy:
        """How hard every model request is tried."""
        return RetryPolicy(
            attempts=self.request_attempts, timeout_s=self.request_timeout_s, deadline_s=self.request_deadline_s
        )

    @property
    def response_cache_dir(self) -> Path | None:
        """Where answers of seeded requests are cached (shared by runs); None when the cache is off."""
        return self.cache_dir / "responses" if self.response_cache else None

    @property
    def kernel_cache_dir(self) -> Path:
        """Where compiled kernels are cached (content-addressed)."""
        return self.cache_dir / "kernels"
