package catalogv1

import (
	"fmt"
	"strings"
)

// Topic is the pub/sub topic that carries every catalog event.
const Topic = "catalog"

// Actions an event reports about its aggregate.
const (
	ActionCreated = "created"
	ActionUpdated = "updated" // movies and videos
	ActionRenamed = "renamed" // actors, creators, categories, tags
	ActionDeleted = "deleted"
)

// Aggregates carried on the catalog topic.
const (
	AggregateActor    = "actor"
	AggregateCreator  = "creator"
	AggregateCategory = "category"
	AggregateTag      = "tag"
	AggregateMovie    = "movie"
	AggregateVideo    = "video"
)

// EventType is the CloudEvent type of an event, e.g.
// EventType("actor", "renamed") == "tenflix.catalog.actor.renamed.v1".
func EventType(aggregate, action string) string {
	return fmt.Sprintf("tenflix.catalog.%s.%s.v1", aggregate, action)
}

// ParseEventType splits a CloudEvent type made by EventType. ok is false for
// any other type.
func ParseEventType(t string) (aggregate, action string, ok bool) {
	rest, ok := strings.CutPrefix(t, "tenflix.catalog.")
	if !ok {
		return "", "", false
	}
	rest, ok = strings.CutSuffix(rest, ".v1")
	if !ok {
		return "", "", false
	}
	aggregate, action, ok = strings.Cut(rest, ".")
	if !ok || aggregate == "" || action == "" || strings.Contains(action, ".") {
		return "", "", false
	}
	return aggregate, action, true
}

// Video statuses (Video.status). A video added by URL is READY at once; an
// uploaded one goes UPLOADED -> TRANSCODING -> READY, or FAILED with a
// reason (and back to TRANSCODING when an admin retries).
const (
	VideoUploaded    = "UPLOADED"
	VideoTranscoding = "TRANSCODING"
	VideoReady       = "READY"
	VideoFailed      = "FAILED"
)

// Where a video plays from (Video.playback; see Video.url).
const (
	PlaybackURL        = "url"
	PlaybackHLS        = "hls"
	PlaybackCloudinary = "cloudinary"
)
