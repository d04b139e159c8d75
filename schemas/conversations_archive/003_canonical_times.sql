-- conversations_archive.db 003: what conversations.db 005 mends, in the archive, with the
-- archive's own time, archived_at (QA round 21a: 01). An older import of an archived
-- conversation wrote it here as it came, and archiving copies live rows as they are. Data only.

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

UPDATE conversations SET archived_at = coalesce(datetime(archived_at), datetime(substr(archived_at, 1, 19)), archived_at)
WHERE typeof(archived_at) = 'text'
  AND archived_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'
  AND NOT (archived_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*'
           AND substr(archived_at, 21) NOT GLOB '*[^0-9]*');

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
