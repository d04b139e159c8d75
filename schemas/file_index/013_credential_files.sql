-- Redaction learned the credential files of common tools (`.git-credentials`, `.pypirc`,
-- `*.ppk`, `.htpasswd`, `.dockercfg`, `.docker/config.json`, kubeconfig, `*.tfvars`) and the
-- token shapes of npm, PyPI and GitLab, an `.npmrc` login and a PuTTY key block. A store indexed
-- before holds them in its full text, snippets and previews: the 'credentials' scrub (migration
-- 008) runs once more.
-- gitext/index/secrets.py sha256: 3ee3d23670d2530d000013f9c025062e7e86c6d51c796a801d7a1618aa652350
INSERT OR IGNORE INTO pending_scrubs (name, since) VALUES ('credentials', CURRENT_TIMESTAMP);
