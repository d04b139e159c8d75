-- The weekly tier that `init` runs on an empty store wrote planner statistics saying `files`
-- holds 1 row, and until the next weekly tier (up to 7 days) the planner scanned `files` once
-- for every row of a join: the worker held this database's write lock for seconds and `sync`
-- failed behind it. Maintenance now drops statistics of tables under 1,000 rows after ANALYZE
-- (gitext/lifecycle/maintenance.py, SMALL_TABLE); a store analysed before loses them now.
-- ANALYZE of sqlite_master makes sqlite_stat1 where it is missing, so the DELETE always runs.
ANALYZE sqlite_master;
DELETE FROM sqlite_stat1 WHERE CAST(stat AS INTEGER) < 1000;
