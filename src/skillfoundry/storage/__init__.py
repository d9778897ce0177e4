"""Parquet tables and the DuckDB catalog over them."""
