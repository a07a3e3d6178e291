-- Video statuses are upper case (catalog/v1: UPLOADED, TRANSCODING, READY,
-- FAILED), like order statuses; videos added by URL before this were stored
-- "ready", and say nothing of where they play from. No event is published:
-- movie-query migrates its read model the same way.
UPDATE catalog_state
SET value = value || jsonb_build_object('status', 'READY', 'playback', coalesce(nullif(value->>'playback', ''), 'url'))
WHERE split_part(key, ':', 1) = 'video' AND value->>'status' = 'ready';
