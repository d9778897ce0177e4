"""One settings object: where data goes, which models run, how much concurrency and budget.

Each setting comes from, highest first: a command-line flag (``--train-cases``), the environment
(``SKILLFOUNDRY_TRAIN_CASES``), the config file (key ``train_cases`` or ``train-cases``), the default.
The config file is ``$SKILLFOUNDRY_CONFIG`` if set, else ``./skillfoundry.toml``, else the
``[tool.skillfoundry]`` table of ``./pyproject.toml``. ``skillfoundry config`` shows where each value came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.spec import DEFAULT_ANTHROPIC_MODEL


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("skillfoundry")) / "data"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("skillfoundry"))


def default_teacher() -> str:
    """Claude when an API key is set, else the embedded local model (nothing leaves the machine)."""
    return f"anthropic:{DEFAULT_ANTHROPIC_MODEL}" if os.environ.get("ANTHROPIC_API_KEY") else "local"


ENV_PREFIX = "SKILLFOUNDRY_"
CONFIG_ENV = "SKILLFOUNDRY_CONFIG"
CONFIG_FILE = "skillfoundry.toml"
PYPROJECT_TABLE = ("tool", "skillfoundry")


class ConfigFileError(ValueError):
    """The config file is unreadable or holds something that is not a setting; one line naming file and key."""


def config_file(cwd: Path | None = None) -> Path | None:
    """The config file in effect (see the module docstring), or None."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigFileError(f"{CONFIG_ENV}={named}: no such file")
        return path
    base = Path.cwd() if cwd is None else cwd
    if (base / CONFIG_FILE).is_file():
        return base / CONFIG_FILE
    pyproject = base / "pyproject.toml"
    if pyproject.is_file() and _table(_load_toml(pyproject), pyproject) is not None:
        return pyproject
    return None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigFileError(f"{path}: {' '.join(str(err).split())}") from None


def _table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The settings table of a loaded file: all of skillfoundry.toml, [tool.skillfoundry] of pyproject.toml."""
    if path.name != "pyproject.toml":
        return data
    table: Any = data
    for key in PYPROJECT_TABLE:
        table = table.get(key) if isinstance(table, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigFileError(f"{path}: [tool.skillfoundry]: expected a table")
    return table


def file_values(path: Path) -> dict[str, Any]:
    """The settings in config file ``path`` by field name (``train-cases`` and ``train_cases`` alike);
    an unknown key is a ConfigFileError naming it."""
    table = _table(_load_toml(path), path) or {}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in Settings.model_fields:
            raise ConfigFileError(
                f"{path}: {key}: not a setting; expected one of {', '.join(sorted(Settings.model_fields))}"
            )
        values[name] = value
    return values


class FileSettingsSource(PydanticBaseSettingsSource):
    """The config file, below flags and the environment."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        path = config_file()
        return file_values(path) if path else {}


URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):/")  # also as a Path, which keeps one slash


class Settings(BaseSettings):
    """Run settings; every field can be set as SKILLFOUNDRY_<FIELD> in the environment or in the config file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init arguments) > environment > config file > defaults."""
        return init_settings, env_settings, FileSettingsSource(settings_cls)

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
    trace_ids: list[str] = Field(
        default_factory=list, description="extract the skill from these stored traces (e.g. imported sessions)"
    )
    teacher_thinking_tokens: int = Field(
        default=0, ge=0, description="extended-thinking budget per teacher turn where the model has it (0: off)"
    )
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

    @field_validator("data_dir", "cache_dir", mode="before")
    @classmethod
    def _a_path_not_a_url(cls, value: Any) -> Any:
        found = URL.match(str(value)) if isinstance(value, str | Path) else None
        if found:
            raise ValueError(
                f"{found.group(1)}: is a URL scheme; give a filesystem path (for object storage, a mount of it that "
                "every worker sees)"
            )
        return value

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


Origin = Literal["flag", "env", "file", "default"]


class SettingOrigin(BaseModel):
    """Where one setting's value came from: ``where`` is the flag, variable or file that set it."""

    name: str
    origin: Origin
    where: str


def setting_origins(flags: dict[str, Any], *, cwd: Path | None = None) -> dict[str, SettingOrigin]:
    """For each setting, the source that decides it (flag > env > file > default), from the raw sources."""
    path = config_file(cwd)
    in_file = file_values(path) if path else {}
    environ = {key.upper() for key in os.environ}
    origins = {}
    for name in Settings.model_fields:
        env = f"{ENV_PREFIX}{name.upper()}"
        if flags.get(name) is not None:
            origin, where = "flag", f"--{name.replace('_', '-')}"
        elif env in environ:
            origin, where = "env", env
        elif name in in_file:
            origin, where = "file", str(path)
        else:
            origin, where = "default", "default"
        origins[name] = SettingOrigin(name=name, origin=origin, where=where)
    return origins


def setting_error(loc: tuple[int | str, ...], message: str, flags: dict[str, Any]) -> str:
    """One line for a bad setting, naming where its value came from: ``--cases: ...``,
    ``SKILLFOUNDRY_CASES: ...`` or ``<file>: cases: ...``."""
    name = str(loc[0]) if loc else ""
    field = ".".join(str(p) for p in loc)
    origin = setting_origins(flags).get(name)
    if origin is None or origin.origin in ("flag", "default"):
        return f"--{field.replace('_', '-')}: {message}"
    if origin.origin == "env":
        return f"{origin.where}: {message}"
    return f"{origin.where}: {field}: {message}"
