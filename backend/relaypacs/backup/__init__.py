"""Backup and restore: the database (pg_dump custom format or SQLite's online backup) and
the stored studies, with a manifest of every object's SHA-256, to a directory or a bucket."""
