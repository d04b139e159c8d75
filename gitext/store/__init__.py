"""SQLite databases: opening (pragmas, migrations), one writer at a time, a pool of readers."""
