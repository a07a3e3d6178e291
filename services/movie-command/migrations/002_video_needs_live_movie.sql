-- A live video must belong to a live movie: a live "video:*" row references
-- (value->>'movieId') a "movie:<id>" row that exists and is not a tombstone,
-- and a movie row cannot become a tombstone (or disappear) while live videos
-- reference it. A foreign key cannot say this (one table, jsonb, tombstones),
-- so two constraint triggers do, and they hold across every writer, however
-- many movie-command instances there are.
--
-- What daprd runs (components-contrib v1.14, common/component/postgresql/v1
-- with state/postgresql/v1's queries): every outbox transaction has at least
-- two operations (ours plus one "outbox-<uuid>" marker per upsert), so it is a
-- real transaction, BEGIN (READ COMMITTED) ... COMMIT, one statement per
-- operation, in the order sent (a lone statement, without the outbox, is
-- checked at its own implicit commit just the same):
--   create (first-write, no ETag):
--     INSERT INTO catalog_state AS t (key, value, isbinary, expiredate)
--     VALUES ($1, $2, $3, NULL) ON CONFLICT (key) DO UPDATE SET ...
--     WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)
--   change or tombstone (ETag = xmin):
--     UPDATE catalog_state SET value = $2, isbinary = $3, updatedate = ...
--     WHERE key = $1 AND xmin = $4 AND (expiredate IS NULL OR expiredate > ...)
-- A delete-movie transaction is: UPDATE movie (tombstone), UPDATE each video
-- it read beforehand (tombstone), INSERT outbox markers. A create-video
-- transaction is: INSERT video, INSERT outbox marker.
--
-- Why it is race-proof under READ COMMITTED. Both checks run at commit
-- (DEFERRABLE INITIALLY DEFERRED: the movie tombstone may precede its videos'
-- tombstones in the transaction, and a movie may be created with its video)
-- and both are serialised on the movie row's lock:
--   * delete-movie locks the movie row with its UPDATE (FOR NO KEY UPDATE)
--     at its first statement, and only at commit looks for live videos, with
--     a fresh snapshot;
--   * a new live video takes SELECT ... FOR SHARE on its movie row at commit,
--     which conflicts with that UPDATE and, after waiting, returns the row's
--     newest committed version.
-- So, of a delete D and a video creation V racing:
--   - D updated the movie first: V's FOR SHARE waits until D ends, then sees
--     the tombstone and fails; D's own check could not see V (uncommitted)
--     and needs not: V cannot commit without passing the lock after D.
--   - V took FOR SHARE first: D's UPDATE waits until V ends (the share lock
--     leaves xmin alone, so D's ETag still matches); D's check, which runs
--     after that wait, sees V's committed live video and fails.
-- Either way one of the two commits and the other fails; both can succeed
-- only in the order V then D-that-saw-V (which then tombstones it).
-- The video check fires only when a write adds a live video to a movie
-- (insert, revive, move to another movie): a live-to-live update on the same
-- movie changes no snapshot's set of the movie's live videos, and skipping it
-- keeps such an update from taking the movie lock after its video lock, the
-- reverse of delete-movie's order (that would deadlock).
--
-- Rows written before this migration are not re-checked.
--
-- A failure raises foreign_key_violation (23503) with the constraint name
-- first in the message, which daprd passes on in its error text; the
-- statestore package maps each name to a domain error.

CREATE OR REPLACE FUNCTION catalog_check_video_movie_live() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    video jsonb;
    movie jsonb;
BEGIN
    -- The video as it is at commit: a later statement of this transaction
    -- may have tombstoned or moved it. This transaction holds its row lock.
    SELECT value INTO video FROM catalog_state WHERE key = NEW.key;
    IF NOT FOUND OR coalesce(video->>'deleted', 'false') = 'true' THEN
        RETURN NULL;
    END IF;
    SELECT value INTO movie FROM catalog_state
    WHERE key = 'movie:' || (video->>'movieId')
    FOR SHARE;
    IF NOT FOUND OR coalesce(movie->>'deleted', 'false') = 'true' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'catalog_video_movie_live',
            MESSAGE = format('catalog_video_movie_live: %s references movie %s, which is missing or deleted',
                             NEW.key, coalesce(video->>'movieId', '(none)'));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION catalog_check_movie_no_live_videos() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    movie_key text := CASE WHEN TG_OP = 'DELETE' THEN OLD.key ELSE NEW.key END;
    video_key text;
BEGIN
    -- The movie as it is at commit (this transaction holds its row lock).
    PERFORM FROM catalog_state
    WHERE key = movie_key AND coalesce(value->>'deleted', 'false') <> 'true';
    IF FOUND THEN
        RETURN NULL;
    END IF;
    -- Same predicate as the partial index catalog_videos_by_movie.
    SELECT key INTO video_key FROM catalog_state
    WHERE split_part(key, ':', 1) = 'video'
      AND value->>'movieId' = substr(movie_key, length('movie:') + 1)
      AND coalesce(value->>'deleted', 'false') <> 'true'
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'catalog_movie_no_live_videos',
            MESSAGE = format('catalog_movie_no_live_videos: %s is deleted but %s still references it',
                             movie_key, video_key);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER catalog_video_movie_live_on_insert
    AFTER INSERT ON catalog_state
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (split_part(NEW.key, ':', 1) = 'video'
          AND coalesce(NEW.value->>'deleted', 'false') <> 'true')
    EXECUTE FUNCTION catalog_check_video_movie_live();

CREATE CONSTRAINT TRIGGER catalog_video_movie_live_on_update
    AFTER UPDATE ON catalog_state
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (split_part(NEW.key, ':', 1) = 'video'
          AND coalesce(NEW.value->>'deleted', 'false') <> 'true'
          AND (coalesce(OLD.value->>'deleted', 'false') = 'true'
               OR OLD.value->>'movieId' IS DISTINCT FROM NEW.value->>'movieId'
               OR OLD.expiredate < CURRENT_TIMESTAMP))
    EXECUTE FUNCTION catalog_check_video_movie_live();

CREATE CONSTRAINT TRIGGER catalog_movie_no_live_videos_on_write
    AFTER INSERT OR UPDATE ON catalog_state
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (split_part(NEW.key, ':', 1) = 'movie'
          AND coalesce(NEW.value->>'deleted', 'false') = 'true')
    EXECUTE FUNCTION catalog_check_movie_no_live_videos();

CREATE CONSTRAINT TRIGGER catalog_movie_no_live_videos_on_delete
    AFTER DELETE ON catalog_state
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (split_part(OLD.key, ':', 1) = 'movie')
    EXECUTE FUNCTION catalog_check_movie_no_live_videos();
