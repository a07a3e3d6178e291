-- The catalog lives in Dapr's state table (state.postgresql v1, keyPrefix none):
-- key "<kind>:<id>", value the jsonb document that is also the published event.
-- daprd creates the table; these indexes make the database enforce the rules
-- and serve the admin reads.

-- Names of actors, creators, categories and tags are unique per kind, ignoring
-- case; deleted entries (tombstones) free their name.
CREATE UNIQUE INDEX IF NOT EXISTS catalog_named_unique_name
    ON catalog_state (split_part(key, ':', 1), lower(value->>'name'))
    WHERE split_part(key, ':', 1) IN ('actor', 'creator', 'category', 'tag')
      AND coalesce(value->>'deleted', 'false') <> 'true';

CREATE INDEX IF NOT EXISTS catalog_kind_name
    ON catalog_state (split_part(key, ':', 1), lower(value->>'name'), key)
    WHERE coalesce(value->>'deleted', 'false') <> 'true';

CREATE INDEX IF NOT EXISTS catalog_videos_by_movie
    ON catalog_state ((value->>'movieId'))
    WHERE split_part(key, ':', 1) = 'video';
