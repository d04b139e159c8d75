-- Redaction learned, after migration 010 queued its scrub, to take out a private key whose line
-- breaks became string pieces joined with + (JavaScript, Python), spaces or nothing, and that
-- client_secret* and service-account* name secrets only as data files. A store indexed in
-- between holds such keys' material: the 'credentials' scrub (migration 008) runs once more.
-- The hash is of the gitext/index/secrets.py these rules are; tests/index/test_scrub_follows_rules.py
-- fails when that file changes and no newer migration queues the scrub for it.
-- gitext/index/secrets.py sha256: 3de1ab317fbdf9b0820922cb255aa1a987fd65846fe6525ddf2f699e68d7eb75
INSERT OR IGNORE INTO pending_scrubs (name, since) VALUES ('credentials', CURRENT_TIMESTAMP);
