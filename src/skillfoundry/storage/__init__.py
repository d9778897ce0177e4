"""Parquet tables and the DuckDB catalog over them.

Write with ``writer.write_rows``; read with ``catalog.catalog`` (views per table plus pass_rates,
case_lift, skill_lift, cost, kernel_speedups) or ``query.run_query``; reuse baselines with
``baselines.existing_baselines``; keep reads fast with ``compact.compact``.
"""
