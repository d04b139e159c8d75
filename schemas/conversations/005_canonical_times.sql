-- conversations.db 005: times an older import stored in another form than 'YYYY-MM-DD HH:MM:SS'.
-- Before ecbcd36 an import checked only a timestamp's first 19 characters, so
-- '2020-01-01 00:00:00+09:00', '…Z', a 'T' between date and time or text after the seconds
-- were stored as they came; the current import refuses them, so such a store's own export no
-- longer imported (the import is all or nothing), and retention compared them as text, an
-- offset read as UTC (QA round 21a: 01). Mended once, like 004, in every store and in every
-- older backup restored later. Data only: the schema is 003's.
-- A value that is not exactly that form (an optional '.digits' fraction allowed) becomes
-- SQLite's datetime() of it (offsets and 'Z' converted to UTC, a 'T' read as the space), else,
-- when datetime() cannot read it (text after the seconds), that of its first 19 characters;
-- one neither reads is left as it is. Only text: no import stored another type here.

UPDATE conversations SET created_at = coalesce(datetime(created_at), datetime(substr(created_at, 1, 19)), created_at)
WHERE typeof(created_at) = 'text'
  AND created_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  AND NOT (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*'
           AND substr(created_at, 21) NOT GLOB '*[^0-9]*');

UPDATE conversations SET updated_at = coalesce(datetime(updated_at), datetime(substr(updated_at, 1, 19)), updated_at)
WHERE typeof(updated_at) = 'text'
  AND updated_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  AND NOT (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*'
           AND substr(updated_at, 21) NOT GLOB '*[^0-9]*');

UPDATE messages SET timestamp = coalesce(datetime(timestamp), datetime(substr(timestamp, 1, 19)), timestamp)
WHERE typeof(timestamp) = 'text'
  AND timestamp NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  AND NOT (timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*'
           AND substr(timestamp, 21) NOT GLOB '*[^0-9]*');

UPDATE compaction_history SET performed_at = coalesce(datetime(performed_at), datetime(substr(performed_at, 1, 19)), performed_at)
WHERE typeof(performed_at) = 'text'
  AND performed_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  AND NOT (performed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*'
           AND substr(performed_at, 21) NOT GLOB '*[^0-9]*');
