"""SQL storage (SQLite by default, PostgreSQL at scale): tables, Alembic migrations, and the consent stores."""

from privet.store.consent import SqlConsents, SqlSubjects
from privet.store.database import Database, head, migrate, open_database, revision

__all__ = ["Database", "SqlConsents", "SqlSubjects", "head", "migrate", "open_database", "revision"]
