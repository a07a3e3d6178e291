package catalog

// Stamp is what reconciliation compares of one document: its version, and
// whether it is a tombstone.
type Stamp struct {
	Version int64
	Deleted bool
}

// KindMovie and KindVideo complete the named kinds: every document of the
// read model is one of these six, as in movie-command's state keys.
const (
	KindMovie = "movie"
	KindVideo = "video"
)

// Key is the key of a document in movie-command's state, "<kind>:<id>".
func Key(kind, id string) string { return kind + ":" + id }
