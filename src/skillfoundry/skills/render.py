"""Render a ``Skill`` as SKILL.md text with PyYAML, in a conservative subset every reader accepts.

Style choices (so that ``parse_skill_md(render_skill_md(s)) == s`` for every valid skill):
- keys in the specification's order; ``license``, ``compatibility``, ``allowed-tools`` only when set,
  ``metadata`` only when non-empty, always in block style (no ``{}`` flow maps, which strictyaml-based
  readers such as skills-ref reject);
- every value on one physical line: PyYAML picks plain style when that is unambiguous, strings
  containing a line break are double-quoted with escapes (``"a\\nb"``), never folded (unbounded width);
- strings that some YAML version would read as a number, boolean or null (``1.0``, ``0o17``, ``1e3``,
  ``yes``, ``off``, ``~``) are quoted even where YAML 1.1 would not need it, so YAML 1.2 readers agree;
- UTF-8 characters are written as is; non-printable ones are escaped inside double quotes;
- one blank line separates the closing ``---`` from the body, which is written verbatim.
"""

from __future__ import annotations

import re
import sys

import yaml

from skillfoundry.skills.model import Skill

_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_AMBIGUOUS = re.compile(
    r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
    r"|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[-+]?\.(?:inf|nan)"
    r"|~|null|true|false|yes|no|on|off|y|n",
    re.IGNORECASE,
)


class _Dumper(yaml.SafeDumper):
    """SafeDumper with our string styles; never emits anchors or aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(br in value for br in _LINE_BREAKS):
        style = '"'
    elif _AMBIGUOUS.fullmatch(value):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render_frontmatter(skill: Skill) -> str:
    """The YAML between the ``---`` lines (ends with a newline)."""
    data: dict[str, object] = {"name": skill.name, "description": skill.description}
    for key, value in (("license", skill.license), ("compatibility", skill.compatibility)):
        if value is not None:
            data[key] = value
    if skill.metadata:
        data["metadata"] = dict(skill.metadata)
    if skill.allowed_tools is not None:
        data["allowed-tools"] = skill.allowed_tools
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=sys.maxsize
    )


def render_skill_md(skill: Skill) -> str:
    """The full SKILL.md text for ``skill``."""
    return f"---\n{render_frontmatter(skill)}---\n\n{skill.body}"
