-- A backend that transcodes elsewhere (Cloudinary) says when it is done by
-- notification: after the upload the job waits TRANSCODING with no lease
-- (awaiting_notification) for the notification of the version it uploaded
-- (remote_version), until notify_deadline, after which it is FAILED.
-- playback, url and poster_url are where a READY video plays from, so that
-- a final status movie-command missed is sent again with them.
ALTER TABLE media_jobs
    ADD COLUMN awaiting_notification boolean NOT NULL DEFAULT false,
    ADD COLUMN remote_version bigint NOT NULL DEFAULT 0 CHECK (remote_version >= 0),
    ADD COLUMN notify_deadline timestamptz,
    ADD COLUMN playback text NOT NULL DEFAULT '',
    ADD COLUMN url text NOT NULL DEFAULT '',
    ADD COLUMN poster_url text NOT NULL DEFAULT '',
    -- Waiting is TRANSCODING, unleased, with a deadline; the deadline is
    -- only there while waiting.
    ADD CHECK (NOT awaiting_notification OR (status = 'TRANSCODING' AND lease_owner IS NULL AND remote_version > 0)),
    ADD CHECK (awaiting_notification = (notify_deadline IS NOT NULL));

-- What the deadline sweep looks for.
CREATE INDEX media_jobs_awaiting ON media_jobs (notify_deadline) WHERE awaiting_notification;
