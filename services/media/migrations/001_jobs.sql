-- One transcoding job per uploaded video: the durable record of what media
-- owes movie-command. The worker claims a job with FOR UPDATE SKIP LOCKED and
-- holds it under a lease it renews; a job whose lease ran out (the service
-- was killed mid-transcode) is claimed again.
CREATE TABLE media_jobs (
    video_id        uuid PRIMARY KEY,
    movie_id        uuid NOT NULL,
    title           text NOT NULL,
    synopsis        text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('UPLOADED', 'TRANSCODING', 'READY', 'FAILED')),
    -- held: recorded but not yet accepted by movie-command (upload or retry
    -- in flight); the worker leaves it alone, so no TRANSCODING can overtake
    -- the UPLOADED that movie-command has not seen yet.
    held            boolean NOT NULL DEFAULT true,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    lease_owner     text,
    lease_until     timestamptz,
    reason          text NOT NULL DEFAULT '',
    progress        integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    length_seconds  integer NOT NULL DEFAULT 0 CHECK (length_seconds >= 0),
    -- The last status movie-command acknowledged; a final status not yet
    -- acknowledged is sent again until it is.
    reported_status text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A lease is an owner and a deadline, and only a TRANSCODING job has one.
    CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
    CHECK (lease_owner IS NULL OR status = 'TRANSCODING'),
    CHECK (status <> 'FAILED' OR reason <> ''),
    CHECK (status <> 'READY' OR progress = 100)
);

-- What the worker looks for: claimable jobs in upload order.
CREATE INDEX media_jobs_claimable ON media_jobs (created_at)
    WHERE status IN ('UPLOADED', 'TRANSCODING') AND NOT held;

-- Final statuses movie-command has not acknowledged yet.
CREATE INDEX media_jobs_unreported ON media_jobs (updated_at)
    WHERE status IN ('READY', 'FAILED') AND reported_status <> status;
