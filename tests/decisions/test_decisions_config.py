"""One config file: precedence flag > env > file > default, shown by ``skillfoundry config``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillfoundry.config import ConfigFileError, Settings, file_values, setting_origins


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SKILLFOUNDRY_")}
    return subprocess.run(
        [sys.executable, "-m", "skillfoundry", *args],
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        timeout=120,
    )


def shown(out: str) -> dict[str, tuple[str, str]]:
    """setting -> (value, from) from the table ``skillfoundry config`` prints."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 3 and cells[0] in Settings.model_fields:
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_config_shows_each_value_and_its_source(tmp_path: Path) -> None:
    (tmp_path / "skillfoundry.toml").write_text(
        'epochs = 5\ntrain-cases = 2\nseed = 9\nstudents = ["local", "openai:m"]\n'
    )
    done = cli("config", cwd=tmp_path, env={"SKILLFOUNDRY_SEED": "3"})
    assert done.returncode == 0, done.stderr
    rows = shown(done.stdout)
    assert set(rows) == set(Settings.model_fields)
    file = str(tmp_path / "skillfoundry.toml")
    assert rows["epochs"] == ("5", file)
    assert rows["train_cases"] == ("2", file)
    assert rows["students"] == ("['local', 'openai:m']", file)
    assert rows["seed"] == ("3", "SKILLFOUNDRY_SEED")  # env beats file
    assert rows["cases"] == ("3", "default")


def test_pyproject_table_is_read_and_skillfoundry_toml_wins(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.skillfoundry]\nepochs = 4\n')
    assert shown(cli("config", cwd=tmp_path).stdout)["epochs"] == ("4", str(tmp_path / "pyproject.toml"))
    (tmp_path / "skillfoundry.toml").write_text("epochs = 6\n")
    assert shown(cli("config", cwd=tmp_path).stdout)["epochs"] == ("6", str(tmp_path / "skillfoundry.toml"))


def test_flag_beats_env_beats_file_in_real_commands(tmp_path: Path) -> None:
    """A bad value is reported with the source that supplied it; a good value above it hides it."""
    (tmp_path / "skillfoundry.toml").write_text("epochs = 0\n")
    missing = str(tmp_path / "no-skill")

    def err(*args: str, env: dict[str, str] | None = None) -> str:
        done = cli("eval", missing, *args, cwd=tmp_path, env=env)
        assert done.returncode == 2
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, done.stderr
        return lines[0]

    assert f"{tmp_path / 'skillfoundry.toml'}: epochs: Input should be greater than or equal to 1" in err()
    assert "SKILLFOUNDRY_EPOCHS: Input should be greater" in err(env={"SKILLFOUNDRY_EPOCHS": "-1"})
    assert "--epochs: Input should be greater" in err("--epochs", "0", env={"SKILLFOUNDRY_EPOCHS": "2"})
    # good values above the bad file value: settings pass, and the command goes on to check its argument
    assert "expected a skill folder containing SKILL.md" in err(env={"SKILLFOUNDRY_EPOCHS": "2"})
    assert "expected a skill folder containing SKILL.md" in err("--epochs", "2")


def test_data_dir_from_the_file_is_used_by_store_commands(tmp_path: Path) -> None:
    (tmp_path / "skillfoundry.toml").write_text(f'data_dir = "{tmp_path / "elsewhere"}"\n')
    done = cli("show", "nope", cwd=tmp_path)
    assert done.returncode == 2 and f"data dir '{tmp_path / 'elsewhere'}' does not exist" in done.stderr


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    for text, needle in (
        ("epochz = 3\n", "epochz: not a setting; expected one of"),
        ("epochs = \n", "skillfoundry.toml: "),
    ):
        (tmp_path / "skillfoundry.toml").write_text(text)
        done = cli("config", cwd=tmp_path)
        assert done.returncode == 2
        assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    done = cli("config", cwd=tmp_path, env={"SKILLFOUNDRY_CONFIG": str(tmp_path / "gone.toml")})
    assert done.returncode == 2 and "SKILLFOUNDRY_CONFIG=" in done.stderr and "no such file" in done.stderr


@settings(max_examples=60, deadline=None)
@given(
    flag=st.none() | st.integers(1, 9),
    env=st.none() | st.integers(1, 9),
    file=st.none() | st.integers(1, 9),
)
def test_the_highest_source_present_decides(flag: int | None, env: int | None, file: int | None) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "skillfoundry.toml"
        path.write_text("" if file is None else f"epochs = {file}\n")
        saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("SKILLFOUNDRY_")}
        os.environ["SKILLFOUNDRY_CONFIG"] = str(path)
        if env is not None:
            os.environ["SKILLFOUNDRY_EPOCHS"] = str(env)
        try:
            flags = {"epochs": flag}
            value = Settings(**{k: v for k, v in flags.items() if v is not None}).epochs
            origin = setting_origins(flags)["epochs"].origin
        finally:
            os.environ.pop("SKILLFOUNDRY_EPOCHS", None)
            os.environ.pop("SKILLFOUNDRY_CONFIG", None)
            os.environ.update(saved)
    expected = next(
        ((v, o) for v, o in ((flag, "flag"), (env, "env"), (file, "file")) if v is not None),
        (Settings.model_fields["epochs"].default, "default"),
    )
    assert (value, origin) == expected


def test_file_values_rejects_a_non_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool]\nskillfoundry = "x"\n')
    with pytest.raises(ConfigFileError, match=r"\[tool.skillfoundry\]: expected a table"):
        file_values(path)
