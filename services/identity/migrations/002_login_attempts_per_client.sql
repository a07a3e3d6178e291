-- Sign-in attempts are counted per client too (the address the gateway saw),
-- so that one client's failures throttle that client, not the account's
-- owner elsewhere (account.LoginPolicy). Rows from before this migration
-- have no known client; they count as one client, "unknown", and expire
-- with the window.
ALTER TABLE login_attempts ADD COLUMN client_key text NOT NULL DEFAULT 'unknown'
    CHECK (length(client_key) BETWEEN 1 AND 64);
ALTER TABLE login_attempts ALTER COLUMN client_key DROP DEFAULT;
-- Serves both the account-wide count (email_key prefix) and the per-client one.
CREATE INDEX login_attempts_email_client_time ON login_attempts (email_key, client_key, attempted_at DESC);
DROP INDEX login_attempts_email_time;
