"""``skillfoundry skills ...``: validate skill folders; import and export their test cases; install and
export stored skill versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from skillfoundry.skills.errors import CaseFormatError, SkillExistsError, SkillFormatError
from skillfoundry.skills.evals_io import EVALS_PATH, export_evals, import_evals
from skillfoundry.skills.folder import write_skill
from skillfoundry.skills.install import skills_root
from skillfoundry.skills.model import CaseSet, Skill
from skillfoundry.skills.upskill_io import META_FILE, import_upskill, write_upskill_meta
from skillfoundry.skills.validate import validate_skill_dir

app = typer.Typer(help="Agent Skills: validate folders, import/export test cases.", no_args_is_help=True)


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="skill folders")]) -> None:
    """Print one line per finding (``file: field: rule: message``); exit 1 on any error."""
    errors = warnings = 0
    for path in paths:
        for finding in validate_skill_dir(path):
            typer.echo(finding.line())
            errors += finding.severity == "error"
            warnings += finding.severity == "warning"
    typer.echo(f"{len(paths)} folder(s): {errors} error(s), {warnings} warning(s)", err=True)
    raise typer.Exit(1 if errors else 0)


def _fail(exc: ValueError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@app.command("import-evals")
def import_evals_cmd(
    skill_dir: Annotated[Path, typer.Argument(help=f"skill folder holding {EVALS_PATH} or {META_FILE}")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the cases JSON here (default: stdout)")] = None,
) -> None:
    """Read a skill's test cases (Agent Skills evals.json, else upskill skill_meta.json) as cases JSON."""
    try:
        if (skill_dir / EVALS_PATH).exists():
            case_set = import_evals(skill_dir)
        elif (skill_dir / META_FILE).exists():
            case_set = import_upskill(skill_dir)[1]
        else:
            raise CaseFormatError(str(skill_dir), "folder", f"holds neither {EVALS_PATH} nor {META_FILE}")
    except (CaseFormatError, SkillFormatError) as exc:
        raise _fail(exc) from None
    text = case_set.model_dump_json(indent=2, by_alias=True) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(case_set.cases)} case(s) -> {out}", err=True)


@app.command("export-evals")
def export_evals_cmd(
    cases_json: Annotated[Path, typer.Argument(help="cases JSON, as import-evals writes it")],
    skill_dir: Annotated[Path, typer.Argument(help="skill folder to write into")],
    fmt: Annotated[
        str, typer.Option("--format", help="evals (evals/evals.json) or upskill (skill_meta.json)")
    ] = "evals",
    overwrite: Annotated[bool, typer.Option(help="replace existing different files")] = False,
) -> None:
    """Write test cases into a skill folder as evals/evals.json or upskill's skill_meta.json."""
    if fmt not in ("evals", "upskill"):
        raise _fail(ValueError(f"--format: expected evals or upskill, got {fmt!r}"))
    try:
        case_set = CaseSet.model_validate_json(cases_json.read_bytes())
    except (OSError, ValueError) as exc:
        raise _fail(CaseFormatError(str(cases_json), "file", " ".join(str(exc).split())[:300])) from None
    try:
        written = (
            export_evals(case_set, skill_dir, overwrite=overwrite)
            if fmt == "evals"
            else write_upskill_meta(skill_dir, case_set.cases, overwrite=overwrite)
        )
    except (CaseFormatError, SkillFormatError) as exc:
        raise _fail(exc) from None
    typer.echo(f"{len(case_set.cases)} case(s) -> {written}", err=True)


DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data dir of the store (default: from the settings).")]


def _stored_skill(skill_id: str, data_dir: Path | None) -> tuple[Skill, CaseSet]:
    """The stored skill version (id or a unique prefix of it) and its stored test cases."""
    from skillfoundry.skills.stored import case_of, skill_of
    from skillfoundry.storage.cli import guarded, resolve_data_dir
    from skillfoundry.storage.skill_rows import find_skill, skill_cases

    root = resolve_data_dir(data_dir)
    record = guarded(lambda: find_skill(root, skill_id))
    rows = guarded(lambda: skill_cases(root, record))
    try:
        return skill_of(record), CaseSet(skill_name=record.name, cases=[case_of(r) for r in rows])
    except (SkillFormatError, ValueError) as exc:
        raise _fail(ValueError(f"stored skill {record.skill_id}: {' '.join(str(exc).split())[:300]}")) from None


@app.command()
def install(
    skill_id: Annotated[str, typer.Argument(help="Stored skill version: its id or a unique prefix (4+ characters).")],
    agent: Annotated[
        str, typer.Option("--for", help="claude-code, codex, cursor or dir (a folder you name with --dir).")
    ],
    user: Annotated[
        bool,
        typer.Option(
            "--user/--project", help="Install for every project of this user, or for the project in the current folder."
        ),
    ] = False,
    folder: Annotated[Path | None, typer.Option("--dir", help="With --for dir: the folder to install into.")] = None,
    force: Annotated[bool, typer.Option(help="Replace a different skill of the same name.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Install a stored skill where a coding agent loads skills from (``<root>/<name>/SKILL.md``)."""
    try:
        root = skills_root(agent, "user" if user else "project", project=Path.cwd(), home=Path.home(), folder=folder)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _fail(exc) from None
    skill, _cases = _stored_skill(skill_id, data_dir)
    try:
        target = write_skill(skill, root, overwrite=force)
    except SkillExistsError as exc:
        raise _fail(
            ValueError(
                f"{exc.file}: a different skill named {skill.name!r} is installed there; pass --force to replace it"
            )
        ) from None
    typer.echo(f"installed {skill.name} -> {target}")


@app.command("export")
def export_cmd(
    skill_id: Annotated[str, typer.Argument(help="Stored skill version: its id or a unique prefix (4+ characters).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write <name>/ into.")],
    force: Annotated[bool, typer.Option(help="Replace a different skill or test file of the same name.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Write a stored skill as a folder with its test cases in evals/evals.json (``import-evals`` reads it)."""
    skill, case_set = _stored_skill(skill_id, data_dir)
    try:
        target = write_skill(skill, out, overwrite=force)
        written = export_evals(case_set, target, overwrite=force) if case_set.cases else None
    except (SkillExistsError, CaseFormatError) as exc:
        raise _fail(exc) from None
    typer.echo(
        f"exported {skill.name} -> {target}"
        + (f" with {len(case_set.cases)} case(s) in {written}" if written else " (no stored test cases)")
    )
