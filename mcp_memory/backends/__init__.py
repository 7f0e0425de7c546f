"""Storage backends: SQLite (the default) and PostgreSQL (issue 8)."""
