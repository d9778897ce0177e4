"""Where each coding agent loads Agent Skills from (``skillfoundry skills install`` writes there).

Locations, as each tool documents them (a skill is ``<root>/<name>/SKILL.md``):

- Claude Code (https://docs.claude.com/en/docs/claude-code/skills): personal skills in
  ``~/.claude/skills/``, project skills in ``.claude/skills/`` at the project root.
- Codex (https://developers.openai.com/codex/skills): user skills in ``$HOME/.agents/skills/``,
  repository skills in ``.agents/skills/`` (read from the working directory up to the repository root).
- Cursor (https://cursor.com/docs/context/skills): user skills in ``~/.cursor/skills/``, project
  skills in ``.cursor/skills/``.
- ``dir``: any folder the user names (a skills collection, a plugin's ``skills/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

Agent = Literal["claude-code", "codex", "cursor", "dir"]
Scope = Literal["project", "user"]
AGENTS: tuple[str, ...] = ("claude-code", "codex", "cursor", "dir")

# The skills folder of each agent, relative to the project root (scope "project") or the home folder ("user").
SKILL_ROOTS: dict[str, str] = {
    "claude-code": ".claude/skills",
    "codex": ".agents/skills",
    "cursor": ".cursor/skills",
}


def skills_root(agent: Agent, scope: Scope, *, project: Path, home: Path, folder: Path | None = None) -> Path:
    """The folder that holds ``agent``'s skills for ``scope``; for ``dir``, ``folder`` itself.
    A ValueError names what is missing or unknown."""
    if agent == "dir":
        if folder is None:
            raise ValueError("--for dir: expected --dir FOLDER to install into")
        return folder
    if agent not in SKILL_ROOTS:
        raise ValueError(f"--for: expected one of {', '.join(AGENTS)}, got {agent!r}")
    return (project if scope == "project" else home) / SKILL_ROOTS[agent]
