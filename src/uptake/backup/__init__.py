"""Backing up and restoring a workspace: its workflow database, analytics store and web secret key, with a
manifest of versions and checksums (`uptake backup DIR`, `uptake restore DIR`).

The stores copy themselves (``uptake.store.backup``: SQLite's online backup API, or a logical copy of a
PostgreSQL database in one REPEATABLE READ transaction; ``uptake.analytics.backup``: DuckDB's EXPORT
DATABASE under the store's write lock); this package puts the parts together, writes and checks the
manifest, and moves a restore into place only when all of it is ready. See docs/workflow-database.md,
"Backup and restore".
"""

from uptake.backup.create import DEFAULT_WAIT, create_backup
from uptake.backup.manifest import FORMAT_VERSION, MANIFEST, Manifest
from uptake.backup.restore import Restored, restore_backup

__all__ = ["DEFAULT_WAIT", "FORMAT_VERSION", "MANIFEST", "Manifest", "Restored", "create_backup", "restore_backup"]
