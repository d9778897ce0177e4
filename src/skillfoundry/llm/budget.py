"""A run's spending limit (``--budget-usd``): every paid call is charged, and nothing new is sent once
the limit is reached. What was answered stays stored; a resume of the run asks only what is missing."""

from __future__ import annotations

import threading


class BudgetExceededError(ValueError):
    """The run reached its budget; stopped cleanly (one line)."""


class Budget:
    """Dollars spent against an optional limit; safe to charge from several threads."""

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, float | None]:  # picklable for tasks on other processes (Dask)
        return {"limit_usd": self.limit_usd, "spent_usd": self.spent_usd}

    def __setstate__(self, state: dict[str, float | None]) -> None:
        self.__init__(state["limit_usd"])  # type: ignore[misc]
        self.spent_usd = state["spent_usd"] or 0.0

    def charge(self, usd: float) -> None:
        with self._lock:
            self.spent_usd += usd

    @property
    def exhausted(self) -> bool:
        return self.limit_usd is not None and self.spent_usd >= self.limit_usd

    def message(self, before: str) -> str:
        return (f"budget reached: ${self.spent_usd:.4f} spent of --budget-usd {self.limit_usd:g}, "
                f"stopped before {before}; resume the run (same --run-id) with a larger budget to finish it")

    def check(self, before: str) -> None:
        """Raise BudgetExceededError when the limit is reached."""
        if self.exhausted:
            raise BudgetExceededError(self.message(before))
