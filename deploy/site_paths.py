"""Prints, for deploy/backup and deploy/restore to eval, the site's database as PG* variables (what
pg_dump, pg_restore and psql read) and its MEDIA_ROOT, from the settings (the environment, else .env)."""

import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.conf import settings  # noqa: E402

db = settings.DATABASES["default"]
if db["ENGINE"] != "django.db.backends.postgresql":
    sys.exit(f"{sys.argv[0]}: DATABASE_URL is not a PostgreSQL database; back up SQLite's file instead")
values = {
    "PGDATABASE": db["NAME"],
    "PGHOST": db.get("HOST") or "",
    "PGPORT": str(db.get("PORT") or ""),
    "PGUSER": db.get("USER") or "",
    "PGPASSWORD": db.get("PASSWORD") or "",
    "MEDIA_ROOT": str(settings.MEDIA_ROOT),
}
for name, value in values.items():
    if value:
        print(f"export {name}={shlex.quote(value)}")
    elif name.startswith("PG"):
        print(f"unset {name}")
