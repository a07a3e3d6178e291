package catalogv1

import "net/url"

// VideoStatusPath is movie-command's internal route through which media
// reports an uploaded video's status (PUT, a VideoStatus body): it creates
// or updates the video with its catalog event. Dapr service invocation
// only; movie-command's accessControl allows media.
func VideoStatusPath(movieID, videoID string) string {
	return "/internal/movies/" + url.PathEscape(movieID) + "/videos/" + url.PathEscape(videoID)
}

// MoviePath is movie-command's internal existence check of a movie (GET:
// 200 {"id"} for a live movie, 404 otherwise), which media asks before it
// accepts an upload.
func MoviePath(movieID string) string { return "/internal/movies/" + url.PathEscape(movieID) }

// VideoStatus is the body of VideoStatusPath. Status is one of the Video*
// statuses; movie-command refuses (409) a status that would move the video
// back (anything after READY; UPLOADED or TRANSCODING after FAILED only as
// Retry). Playback, URL and PosterURL are those of Video.
type VideoStatus struct {
	Title         string `json:"title"`
	Synopsis      string `json:"synopsis"`
	Status        string `json:"status"`
	Progress      int32  `json:"progress"`
	FailureReason string `json:"failureReason"`
	Playback      string `json:"playback"`
	URL           string `json:"url"`
	PosterURL     string `json:"posterUrl"`
	LengthSeconds int32  `json:"lengthSeconds"`
}
