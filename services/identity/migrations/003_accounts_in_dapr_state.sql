-- Accounts move to Dapr's state table identity_state (component
-- identity-state, state.postgresql v1, keyPrefix none): key "user:<id>",
-- value the jsonb document tenflix.identity.v1.Account (protojson names: id,
-- email, name, passwordHash, roles, createdAt). They are written only by Dapr
-- state transactions, which also publish UserRegistered through daprd's
-- outbox (the document itself, with its hash, is never published).
--
-- daprd creates the table when it loads the component, before its
-- /v1.0/healthz/outbound answers; identity waits for that before it migrates
-- (and checks the table is there), so this runs after daprd's own migration.
-- Rows of other shapes live in the table too: daprd's outbox markers
-- ("outbox-<uuid>", value "0"), hence the key filters.

-- Nobody writes the old tables while their rows move: an instance of the
-- previous version still running waits, then fails on the dropped table
-- instead of writing an account that would be lost. Same order as the old
-- code took them (refresh_tokens then users, users then outbox).
LOCK TABLE refresh_tokens, users, outbox IN ACCESS EXCLUSIVE MODE;

-- Events still waiting in the old outbox would be lost with it (004 drops it,
-- and nothing relays them any more): refuse to start until they are gone.
DO $$
DECLARE
    pending bigint;
BEGIN
    SELECT count(*) INTO pending FROM outbox WHERE published_at IS NULL;
    IF pending > 0 THEN
        -- pgx's error text keeps the message only (no HINT): all of it here.
        RAISE EXCEPTION '% event(s) of the old outbox table were never published: start the previous identity '
            'with Kafka up until none is left (SELECT count(*) FROM outbox WHERE published_at IS NULL), '
            'or give them up (DELETE FROM outbox WHERE published_at IS NULL), then start again', pending;
    END IF;
END
$$;

-- The rules the users table enforced, now on the documents: one account per
-- email ignoring case (account.ErrEmailTaken, through statestore's
-- constraints), and sane fields with known roles only.
CREATE UNIQUE INDEX identity_users_unique_email
    ON identity_state (lower(value->>'email'))
    WHERE split_part(key, ':', 1) = 'user';

-- A missing field makes the expression NULL, which a CHECK lets through:
-- hence the coalesce.
ALTER TABLE identity_state ADD CONSTRAINT identity_user_document_valid CHECK (
    split_part(key, ':', 1) <> 'user' OR coalesce(
        key = 'user:' || (value->>'id')
        AND length(value->>'email') BETWEEN 3 AND 254
        AND value->>'email' = btrim(value->>'email')
        AND length(value->>'name') BETWEEN 1 AND 100
        AND value->>'passwordHash' <> ''
        AND jsonb_typeof(value->'roles') = 'array'
        AND value->'roles' <@ '["user", "admin"]'::jsonb
        AND value->'roles' ?| ARRAY['user', 'admin'],
        false));

-- Existing accounts become documents with the same ids (their refresh tokens
-- keep working). Plain SQL, not a Dapr transaction: nothing is published for
-- them, they were announced when they registered. Same document as the code
-- writes (createdAt with microseconds, as PostgreSQL kept it). This file runs
-- once, in one transaction; ON CONFLICT only keeps a rerun harmless. An email
-- already used by a document fails the whole migration (the unique index)
-- rather than lose an account.
INSERT INTO identity_state (key, value, isbinary)
SELECT 'user:' || id::text,
       jsonb_build_object(
           'id', id::text,
           'email', email,
           'name', display_name,
           'passwordHash', password_hash,
           'roles', to_jsonb(roles),
           'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
       false
FROM users
ON CONFLICT (key) DO NOTHING;

-- Refresh tokens stay in SQL; their users are documents now, which a foreign
-- key cannot reference (accounts are never deleted, so nothing cascades).
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_user_id_fkey;

-- The moved rows: no second copy of the password hashes.
DROP TABLE users;
