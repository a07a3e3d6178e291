-- Accounts. The database enforces the rules the code relies on: one account
-- per email ignoring case, and no role other than 'user' and 'admin'.
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = btrim(email)),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash text NOT NULL CHECK (password_hash <> ''),
    roles         text[] NOT NULL DEFAULT '{user}'
                  CONSTRAINT users_roles_known CHECK (
                      cardinality(roles) > 0
                      AND array_position(roles, NULL) IS NULL
                      AND roles <@ ARRAY['user', 'admin']::text[]),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Refresh tokens, stored as SHA-256 hashes. A family is one sign-in session:
-- every rotation adds a token to it and marks the presented one rotated. A
-- rotated token that comes back means it was copied: the family is revoked.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
-- Rotation leaves exactly one usable token per family.
CREATE UNIQUE INDEX refresh_tokens_one_live_per_family ON refresh_tokens (family_id)
    WHERE rotated_at IS NULL AND revoked_at IS NULL;

-- Sign-in attempts per email (lower-cased), for throttling. A row is written
-- before the password is checked (so concurrent guesses count too) and all
-- rows of the email are removed on success: what stays are failures.
CREATE TABLE login_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email_key    text NOT NULL CHECK (email_key = lower(email_key)),
    attempted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_time ON login_attempts (email_key, attempted_at DESC);

-- Transactional outbox: events are written in the transaction of the change
-- they announce, and a relay publishes them through the Dapr sidecar (at
-- least once; consumers deduplicate on the CloudEvent id, event_id).
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    event_type   text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
