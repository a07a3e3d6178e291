package httpapi

import "tenflix/services/movie-query/internal/catalog"

// The JSON the API answers. Internal fields (versions, revisions, lowercase
// copies) stay out; empty lists are [] rather than null.

type refDTO struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type movieDTO struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Synopsis    string   `json:"synopsis"`
	MPARating   string   `json:"mpaRating"`
	ReleaseDate string   `json:"releaseDate"`
	Rating      float64  `json:"rating"`
	Image       string   `json:"image"`
	Actors      []refDTO `json:"actors"`
	Creators    []refDTO `json:"creators"`
	Categories  []refDTO `json:"categories"`
	Tags        []refDTO `json:"tags"`
	Notify      bool     `json:"notify"`
}

// videoDTO never carries the video's address: only the watch route gives
// it, to an entitled viewer.
type videoDTO struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	Synopsis      string `json:"synopsis"`
	LengthSeconds int32  `json:"lengthSeconds"`
	Status        string `json:"status"`
	Progress      *int32 `json:"progress,omitempty"`      // percent, while TRANSCODING
	FailureReason string `json:"failureReason,omitempty"` // while FAILED
	PosterURL     string `json:"posterUrl,omitempty"`
}

func videoFrom(v catalog.Video) videoDTO {
	d := videoDTO{
		ID: v.ID, Title: v.Title, Synopsis: v.Synopsis, LengthSeconds: v.LengthSeconds,
		Status: v.Status, PosterURL: v.PosterURL,
	}
	switch v.Status {
	case catalog.StatusTranscoding:
		d.Progress = &v.Progress
	case catalog.StatusFailed:
		d.FailureReason = v.FailureReason
	}
	return d
}

type movieDetailDTO struct {
	movieDTO
	Videos []videoDTO `json:"videos"`
}

type moviePageDTO struct {
	Items []movieDTO `json:"items"`
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Total int64      `json:"total"`
}

func movieFrom(m catalog.Movie) movieDTO {
	return movieDTO{
		ID:          m.ID,
		Name:        m.Name,
		Type:        m.Type,
		Synopsis:    m.Synopsis,
		MPARating:   m.MPARating,
		ReleaseDate: m.ReleaseDate,
		Rating:      m.Rating,
		Image:       m.Image,
		Actors:      refsFrom(m.Actors),
		Creators:    refsFrom(m.Creators),
		Categories:  refsFrom(m.Categories),
		Tags:        refsFrom(m.Tags),
		Notify:      m.Notify,
	}
}

func moviesDTO(ms []catalog.Movie) []movieDTO {
	out := make([]movieDTO, 0, len(ms))
	for _, m := range ms {
		out = append(out, movieFrom(m))
	}
	return out
}

func movieDetailFrom(d catalog.MovieDetail) movieDetailDTO {
	out := movieDetailDTO{movieDTO: movieFrom(d.Movie), Videos: make([]videoDTO, 0, len(d.Videos))}
	for _, v := range d.Videos {
		out.Videos = append(out.Videos, videoFrom(v))
	}
	return out
}

func refsFrom(rs []catalog.Ref) []refDTO {
	out := make([]refDTO, 0, len(rs))
	for _, r := range rs {
		out = append(out, refDTO{ID: r.ID, Name: r.Name})
	}
	return out
}
