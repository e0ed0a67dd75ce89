"""Bulk execution of plans made by the core: Arrow/NumPy/DuckDB locally (Spark later)."""
