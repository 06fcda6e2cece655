"""Analytics engine: Ibis expressions written once, executed on DuckDB (default) or other backends."""
