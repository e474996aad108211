"""The SQL adapter: one implementation with SQLAlchemy Core for SQLite and PostgreSQL."""
