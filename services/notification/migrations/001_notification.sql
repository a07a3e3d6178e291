-- Who can be notified, and how. A row exists once identity's user.registered
-- event arrived (email, name) or once the user set preferences, whichever
-- came first: preferences may be saved before the event (registered_at NULL).
CREATE TABLE recipients (
    user_id       text PRIMARY KEY,
    email         text,
    name          text,
    registered_at timestamptz,
    new_movies    boolean NOT NULL DEFAULT true,  -- new-movie notices in the inbox
    email_enabled boolean NOT NULL DEFAULT false, -- opt-in
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- What the catalog told us, enough to decide when a movie may be announced.
-- Versions make redelivered and out-of-order events harmless.
CREATE TABLE movies (
    movie_id     text PRIMARY KEY,
    version      bigint NOT NULL,
    name         text NOT NULL,
    synopsis     text NOT NULL,
    notify       boolean NOT NULL,
    deleted      boolean NOT NULL,
    -- Set once, when the movie was first both flagged and playable; never
    -- cleared, so a movie is announced at most once whatever follows.
    announced_at timestamptz
);

CREATE TABLE videos (
    video_id text PRIMARY KEY,
    movie_id text NOT NULL,
    version  bigint NOT NULL,
    status   text NOT NULL,
    deleted  boolean NOT NULL
);
CREATE INDEX videos_playable ON videos (movie_id) WHERE status = 'READY' AND NOT deleted;

-- The inbox. (user_id, event_key) is unique: whatever is redelivered or
-- re-run (an event, a fan-out batch after a crash), a user gets one
-- notification per event.
CREATE TABLE notifications (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    text NOT NULL,
    event_key  text NOT NULL,
    type       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    movie_id   text,
    order_id   text,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at    timestamptz,
    CONSTRAINT notifications_once_per_user UNIQUE (user_id, event_key)
);
CREATE INDEX notifications_inbox ON notifications (user_id, created_at DESC, id DESC);

-- Work done after the event was acknowledged: a movie's fan-out (in batches,
-- cursor = the last user id done) and one email per notification. Workers
-- claim rows with FOR UPDATE SKIP LOCKED; key makes recording a job
-- idempotent.
CREATE TABLE jobs (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('fanout', 'email')),
    key        text NOT NULL UNIQUE,
    payload    jsonb NOT NULL,
    cursor     text NOT NULL DEFAULT '',
    attempts   int NOT NULL DEFAULT 0,
    run_at     timestamptz NOT NULL DEFAULT now(), -- not before (backoff, lease)
    last_error text,
    outcome    text, -- done, sent, skipped, gave-up
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);
CREATE INDEX jobs_due ON jobs (kind, run_at, id) WHERE done_at IS NULL;
