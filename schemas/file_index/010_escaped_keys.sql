-- Redaction learned two things: a private key written inside a string with escaped line breaks
-- (a service-account JSON's "private_key") is taken out through its footer, not only its
-- header line; and `secrets.yml`, `client_secret*.json` and `service-account*.json` are named
-- like secrets (gitext/index/secrets.py). A store indexed before holds such keys' material and
-- such files' contents: the 'credentials' scrub (migration 008) runs once more.
INSERT OR IGNORE INTO pending_scrubs (name, since) VALUES ('credentials', CURRENT_TIMESTAMP);
