"""Storage: runs and their tables in an embedded DuckDB file, with Parquet export."""
