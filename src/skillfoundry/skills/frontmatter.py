"""Split SKILL.md into its YAML frontmatter and Markdown body, and load the YAML strictly.

Layout accepted: an optional UTF-8 BOM, a first line ``---``, the YAML, a line ``---``, then the body.
One blank line right after the closing ``---`` is a separator, not part of the body (``render`` writes
it), so ``---\\n...\\n---\\n\\n# Title`` and ``---\\n...\\n---\\n# Title`` both give the body ``# Title``.
The body is otherwise kept byte for byte (CRLF, trailing newlines, a later ``---`` line).
"""

from __future__ import annotations

from typing import Any

import yaml

from skillfoundry.skills.errors import SkillFormatError


def _is_delimiter(line: str) -> bool:
    return line.rstrip(" \t\r") == "---"


def split_frontmatter(text: str, *, source: str = "SKILL.md") -> tuple[str, str]:
    """Return ``(yaml_text, body)``; raise SkillFormatError when the frontmatter is missing or unclosed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first_end = text.find("\n")
    if not _is_delimiter(text if first_end < 0 else text[:first_end]):
        raise SkillFormatError(source, "frontmatter", "frontmatter-missing", "file must start with a '---' line")
    pos = first_end + 1
    while first_end >= 0:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        if _is_delimiter(line):
            body = "" if end < 0 else text[end + 1 :]
            if body.startswith("\n"):
                body = body[1:]
            elif body.startswith("\r\n"):
                body = body[2:]
            return text[first_end + 1 : pos], body
        if end < 0:
            break
        pos = end + 1
    raise SkillFormatError(source, "frontmatter", "frontmatter-unclosed", "no closing '---' line after the frontmatter")


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key, self.line = key, line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # unhashable key: let PyYAML report it
                break
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line)
        return super().construct_mapping(node, deep=deep)


def load_yaml(yaml_text: str, *, source: str = "SKILL.md", line_offset: int = 1) -> Any:
    """Parse YAML safely; any problem is a one-line SkillFormatError (line numbers are file lines)."""
    try:
        return yaml.load(yaml_text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _DuplicateKey as dup:
        raise SkillFormatError(
            source, str(dup.key), "duplicate-key", f"key appears twice (line {dup.line + 1 + line_offset})"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1 + line_offset}" if mark is not None else ""
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise SkillFormatError(source, "frontmatter", "frontmatter-yaml", f"invalid YAML{where}: {problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        problem = " ".join(str(exc).split())[:200]
        raise SkillFormatError(source, "frontmatter", "frontmatter-yaml", f"invalid YAML: {problem}") from None
