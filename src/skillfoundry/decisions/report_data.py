"""What the report's recommendation and plots read from the store."""

from __future__ import annotations

from pathlib import Path

from skillfoundry.report.plots import ReportPlots, fast_p_curve
from skillfoundry.storage.decide import config_rows, kernel_answers


def report_plots(data_dir: Path, run_id: str, *, target: float = 0.8) -> ReportPlots:
    """The run's configurations (``recommendations`` over this run) and its fast_p curves."""
    curves = [
        fast_p_curve(k.model, k.condition, k.n_answers, k.correct_speedups) for k in kernel_answers(data_dir, run_id)
    ]
    return ReportPlots(configs=config_rows(data_dir, [run_id]), fast_p=curves, target=target)
