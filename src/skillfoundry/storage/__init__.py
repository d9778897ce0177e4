"""Parquet tables and the DuckDB catalog over them.

Write with ``writer.write_rows``; read with ``catalog.catalog`` (views per table plus answers,
pass_rates, case_lift, skill_lift, cost, kernel_speedups) or ``query.run_query``; the pipeline asks
``answers`` (usable answers, reusable baselines, per-case lift, findings); keep reads fast with
``compact.compact``.
"""
