"""The run's lift blocks: every line fits the terminal and every value of the full row is shown whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from skillfoundry.report.format import KEY_HEADERS, LIFT_HEADERS, lift_block, lift_cells
from skillfoundry.storage.query import LiftSummary

rates = st.none() | st.floats(0, 1)
lifts = st.none() | st.floats(-1, 1)
names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_./:@"), min_size=1, max_size=150)


@st.composite
def summaries(draw: st.DrawFn) -> LiftSummary:
    return LiftSummary(
        model=draw(names), skill_id="s", sampling_key="k",
        level=draw(st.sampled_from(["deterministic", "sandboxed", "judged", "kernel-static", "kernel-gpu", "unknown"])),
        n_cases=draw(st.integers(0, 10_000)), n_epochs=draw(st.integers(1, 100)), n_errors=draw(st.integers(0, 10**6)),
        baseline_pass_rate=draw(rates), skill_pass_rate=draw(rates), lift=draw(lifts), ci_low=draw(lifts),
        ci_high=draw(lifts), p_value=draw(rates), verdict=draw(st.sampled_from(["helps", "hurts", "inconclusive"])),
        skill_tokens=draw(st.none() | st.integers(0, 10**6)), leaks=draw(st.integers(0, 1000)),
        non_discriminating=draw(st.integers(0, 1000)),
    )


@given(summaries(), st.integers(40, 200))
def test_block_fits_width_and_shows_every_value_whole(r: LiftSummary, width: int) -> None:
    lines = lift_block(r, width)
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    assert "…" not in text
    cells = dict(zip(LIFT_HEADERS, lift_cells(r), strict=True))
    assert r.model in "".join(lines)  # a long name is folded, never shortened
    for header, value in cells.items():
        if header not in ("student", "cases x epochs"):
            assert value in text, header
    assert f"{r.n_cases} cases x {r.n_epochs} epochs" in " ".join(lines)


@given(summaries())
def test_key_numbers_stand_under_their_headers_at_80_columns(r: LiftSummary) -> None:
    lines = lift_block(r, 80)
    header_line = next(i for i, line in enumerate(lines) if line.lstrip().startswith(KEY_HEADERS[0]))
    heads, values = lines[header_line], lines[header_line + 1]
    cells = dict(zip(LIFT_HEADERS, lift_cells(r), strict=True))
    for header in KEY_HEADERS:
        column = heads.index(header)
        assert values[column:].startswith(cells[header]), header
