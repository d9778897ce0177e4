"""Check a skill against the Agent Skills specification; every problem is a ``Finding``.

Errors (the skill is invalid):
  frontmatter-missing, frontmatter-unclosed, frontmatter-yaml, frontmatter-not-mapping, duplicate-key,
  unknown-field (top-level keys other than name, description, license, compatibility, metadata,
  allowed-tools), required (name or description absent), type (a field is not a string; metadata not a
  map of string to string), name-length (1-64), name-chars (lowercase letters, digits, hyphens),
  name-hyphen (leading/trailing hyphen), name-double-hyphen, name-folder (name differs from the folder,
  compared after NFKC), description-empty, description-length (max 1024), compatibility-length (1-500),
  file-path (a bundled file path that is absolute, escapes the folder, is hidden, or is reserved:
  SKILL.md, skill_meta.json, evals/), not-a-directory, skill-md-missing, encoding (SKILL.md not UTF-8).
Warnings (valid, but some reader or agent may struggle):
  body-lines (over 500 lines), body-tokens (over ~5,000 tokens), missing-file (a relative link or a
  scripts/ references/ assets/ path in the body names no bundled file), name-non-ascii (unicode
  lowercase letters are allowed by the spec and skills-ref, but not by every reader), description-multiline,
  metadata-key (blank, multi-line or 128+ character keys, written as YAML '? key' pairs),
  frontmatter-dashes (a value contains '---', which naive readers split on), binary-file and symlink
  (folder entries ``load_skill`` does not carry).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel

from skillfoundry.skills.errors import SkillFormatError
from skillfoundry.skills.frontmatter import load_yaml, split_frontmatter
from skillfoundry.skills.model import Skill
from skillfoundry.skills.tokens import count_tokens
from skillfoundry.skills.walk import SKILL_MD, bad_file_path, read_folder

FIELDS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
MAX_BODY_LINES = 500
MAX_BODY_TOKENS = 5000


class Finding(BaseModel):
    """One problem: where (file, field), which rule, a message, and whether it invalidates the skill."""

    file: str
    field: str
    rule: str
    message: str
    severity: Literal["error", "warning"]

    def line(self) -> str:
        """``file: field: rule: message`` (what the CLI prints)."""
        return f"{self.file}: {self.field}: {self.rule}: {self.message}"

    def as_error(self) -> SkillFormatError:
        return SkillFormatError(self.file, self.field, self.rule, self.message)


def _error(file: str, field: str, rule: str, message: str) -> Finding:
    return Finding(file=file, field=field, rule=rule, message=message, severity="error")


def _warning(file: str, field: str, rule: str, message: str) -> Finding:
    return Finding(file=file, field=field, rule=rule, message=message, severity="warning")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_frontmatter(data: Any, file: str = SKILL_MD) -> list[Finding]:
    """Structural checks on the loaded YAML: a mapping, known keys, required keys, string types."""
    if not isinstance(data, dict):
        return [
            _error(file, "frontmatter", "frontmatter-not-mapping", f"expected a YAML mapping, got {_type_name(data)}")
        ]
    found = [
        _error(file, str(key), "unknown-field", f"unknown top-level key; allowed: {', '.join(FIELDS)}")
        for key in data
        if key not in FIELDS
    ]
    for key in ("name", "description"):
        if key not in data:
            found.append(_error(file, key, "required", "required field is missing"))
    for key in ("name", "description", "license", "compatibility", "allowed-tools"):
        if key in data and not isinstance(data[key], str):
            found.append(_error(file, key, "type", f"expected a string, got {_type_name(data[key])}"))
    if "metadata" in data:
        metadata = data["metadata"]
        if not isinstance(metadata, dict):
            found.append(
                _error(file, "metadata", "type", f"expected a map of string to string, got {_type_name(metadata)}")
            )
        else:
            for key, value in metadata.items():
                if not isinstance(key, str):
                    found.append(
                        _error(file, "metadata", "type", f"key {key!r} is a {_type_name(key)}, expected a string")
                    )
                elif not isinstance(value, str):
                    found.append(_error(file, f"metadata.{key}", "type", f"expected a string, got {_type_name(value)}"))
    return found


def collect_skill_md(text: str, *, source: str = SKILL_MD) -> tuple[Skill | None, list[Finding]]:
    """Read SKILL.md text into a Skill (None when its structure is broken) plus structural findings."""
    try:
        yaml_text, body = split_frontmatter(text, source=source)
        data = load_yaml(yaml_text, source=source)
    except SkillFormatError as exc:
        return None, [_error(exc.file, exc.field, exc.rule, exc.message)]
    found = check_frontmatter(data, source)
    if found:
        return None, found
    skill = Skill(
        name=data["name"],
        description=data["description"],
        body=body,
        license=data.get("license"),
        compatibility=data.get("compatibility"),
        metadata=data.get("metadata") or {},
        allowed_tools=data.get("allowed-tools"),
    )
    return skill, []


def _name_findings(name: str, folder_name: str | None) -> list[Finding]:
    found: list[Finding] = []
    if not 1 <= len(name) <= MAX_NAME:
        found.append(_error(SKILL_MD, "name", "name-length", f"must be 1-{MAX_NAME} characters, got {len(name)}"))
    bad = sorted({c for c in name if c != "-" and not (c.isalnum() and c == c.lower())})
    if bad:
        shown = "".join(bad)[:20]
        found.append(
            _error(
                SKILL_MD, "name", "name-chars", f"only lowercase letters, digits and hyphens allowed; found {shown!r}"
            )
        )
    if name.startswith("-") or name.endswith("-"):
        found.append(_error(SKILL_MD, "name", "name-hyphen", "must not start or end with a hyphen"))
    if "--" in name:
        found.append(_error(SKILL_MD, "name", "name-double-hyphen", "must not contain consecutive hyphens"))
    if not bad and not name.isascii():
        found.append(
            _warning(
                SKILL_MD, "name", "name-non-ascii", "non-ASCII letters are valid but not every reader accepts them"
            )
        )
    if folder_name is not None and unicodedata.normalize("NFKC", name) != unicodedata.normalize("NFKC", folder_name):
        found.append(
            _error(SKILL_MD, "name", "name-folder", f"must equal the folder name {folder_name!r}, got {name!r}")
        )
    return found


_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*)?\)")
_BARE = re.compile(r"(?<![\w/.\-])((?:scripts|references|assets)/[\w.\-/]*[\w\-/])")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def referenced_files(body: str) -> list[str]:
    """Relative paths the body points at: Markdown link targets and bare scripts/, references/, assets/ paths."""
    found: list[str] = []
    links = [m.group(1) for m in _LINK.finditer(body)]
    bare = [m.group(1) for m in _BARE.finditer(_LINK.sub("]()", body))]
    for target in links + bare:
        if _SCHEME.match(target) or target.startswith(("#", "/", "~")):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        while path.startswith("./"):
            path = path[2:]
        path = path.rstrip("/")
        if path and ".." not in path.split("/") and path not in found:
            found.append(path)
    return found


def _frontmatter_values(skill: Skill) -> list[tuple[str, str]]:
    values = [("name", skill.name), ("description", skill.description)]
    values += [
        (k, v)
        for k, v in (
            ("license", skill.license),
            ("compatibility", skill.compatibility),
            ("allowed-tools", skill.allowed_tools),
        )
        if v is not None
    ]
    for key, value in skill.metadata.items():
        values += [("metadata", key), (f"metadata.{key}", value)]
    return values


def validate_skill(skill: Skill, folder_name: str | None, *, extra_files: Collection[str] = ()) -> list[Finding]:
    """Every finding for a parsed skill. ``folder_name`` (when given) must equal the name;
    ``extra_files`` are folder entries that exist but are not in ``skill.files`` (e.g. binary assets)."""
    found = _name_findings(skill.name, folder_name)
    if not skill.description.strip():
        found.append(_error(SKILL_MD, "description", "description-empty", "must be a non-empty string"))
    elif len(skill.description) > MAX_DESCRIPTION:
        found.append(
            _error(
                SKILL_MD,
                "description",
                "description-length",
                f"must be at most {MAX_DESCRIPTION} characters, got {len(skill.description)}",
            )
        )
    if "\n" in skill.description.strip():
        found.append(
            _warning(
                SKILL_MD,
                "description",
                "description-multiline",
                "spans several lines; some readers keep only the first",
            )
        )
    if skill.compatibility is not None and not 1 <= len(skill.compatibility) <= MAX_COMPATIBILITY:
        found.append(
            _error(
                SKILL_MD,
                "compatibility",
                "compatibility-length",
                f"must be 1-{MAX_COMPATIBILITY} characters, got {len(skill.compatibility)}",
            )
        )
    for field, value in _frontmatter_values(skill):
        if "---" in value:
            found.append(
                _warning(
                    SKILL_MD, field, "frontmatter-dashes", "contains '---', which naive frontmatter readers split on"
                )
            )
    for key in skill.metadata:
        if not key.strip() or len(key) >= 128 or any(c in key for c in "\n\r\x85\u2028\u2029"):
            found.append(
                _warning(
                    SKILL_MD,
                    "metadata",
                    "metadata-key",
                    f"key {key[:40]!r} is blank, multi-line or 128+ characters; "
                    "YAML writes it as a '? key' pair that some readers reject",
                )
            )
    for path in skill.files:
        reason = bad_file_path(path)
        if reason:
            found.append(_error(path, "files", "file-path", reason))
    lines = skill.body.count("\n") + (0 if skill.body.endswith("\n") or not skill.body else 1)
    if lines > MAX_BODY_LINES:
        found.append(
            _warning(
                SKILL_MD,
                "body",
                "body-lines",
                f"{lines} lines; keep SKILL.md under {MAX_BODY_LINES} and move detail to references/",
            )
        )
    tokens = count_tokens(skill.body)
    if tokens > MAX_BODY_TOKENS:
        found.append(
            _warning(SKILL_MD, "body", "body-tokens", f"about {tokens} tokens; keep the body under {MAX_BODY_TOKENS}")
        )
    present = set(skill.files) | set(extra_files) | {SKILL_MD}
    for ref in referenced_files(skill.body):
        if ref not in present and not any(p.startswith(ref + "/") for p in present):
            found.append(
                _warning(SKILL_MD, "body", "missing-file", f"references {ref!r}, which the skill does not contain")
            )
    return found


def _relocate(finding: Finding, skill_md: str, folder: Path) -> Finding:
    file = skill_md if finding.file == SKILL_MD else str(folder / finding.file)
    return finding.model_copy(update={"file": file})


def inspect_skill_dir(path: Path) -> tuple[Skill | None, list[Finding]]:
    """Read a skill folder: the Skill (None when SKILL.md is unreadable or structurally broken) and
    every finding (file names in findings are under ``path``)."""
    path = Path(path)
    skill_md = str(path / SKILL_MD)
    if not path.is_dir():
        return None, [_error(str(path), "folder", "not-a-directory", "expected a skill folder")]
    if not (path / SKILL_MD).is_file():
        hint = " (found skill.md; the file must be named SKILL.md)" if (path / "skill.md").is_file() else ""
        return None, [_error(skill_md, "file", "skill-md-missing", f"a skill folder must contain SKILL.md{hint}")]
    contents = read_folder(path)
    try:
        text = contents.files[SKILL_MD].decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_error(skill_md, "file", "encoding", f"not UTF-8 text (byte {exc.start})")]
    skill, found = collect_skill_md(text, source=skill_md)
    if skill is None:
        return None, found
    binary = contents.binary_files()
    found += [
        _warning(str(path / rel), "files", "binary-file", "not UTF-8 text; a loaded Skill does not carry it")
        for rel in binary
    ]
    found += [
        _warning(str(path / rel), "files", "symlink", "symbolic links are not followed or carried")
        for rel in contents.symlinks
    ]
    skill = skill.model_copy(update={"files": contents.text_files()})
    found += [_relocate(f, skill_md, path) for f in validate_skill(skill, path.resolve().name, extra_files=binary)]
    return skill, found


def validate_skill_dir(path: Path) -> list[Finding]:
    """Every finding for a skill folder on disk (file names in findings are under ``path``)."""
    return inspect_skill_dir(path)[1]
