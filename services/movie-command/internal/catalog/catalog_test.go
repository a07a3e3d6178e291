package catalog

import (
	"errors"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func validMovie() MovieInput {
	return MovieInput{Name: " Heat ", Type: "Movie", ReleaseDate: "1995-12-15", Rating: ptr(8.26),
		Actors: []Ref{{Name: "Al Pacino"}, {ID: "a1"}}}
}

func TestValidateMovieNormalises(t *testing.T) {
	m, err := ValidateMovie(validMovie())
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Heat" || m.Type != "movie" || m.MPARating != "NR" || m.Rating != 8.3 {
		t.Fatalf("got %+v", m)
	}
	if len(m.Refs[Actor]) != 2 || len(m.Refs[Tag]) != 0 {
		t.Fatalf("refs %+v", m.Refs)
	}
}

func TestValidateMovieRejects(t *testing.T) {
	cases := map[string]func(*MovieInput){
		"empty name":      func(m *MovieInput) { m.Name = " " },
		"long name":       func(m *MovieInput) { m.Name = strings.Repeat("x", MaxNameLen+1) },
		"control char":    func(m *MovieInput) { m.Name = "a\x00b" },
		"no type":         func(m *MovieInput) { m.Type = "" },
		"unknown type":    func(m *MovieInput) { m.Type = "opera" },
		"bad mpa":         func(m *MovieInput) { m.MPARating = "X" },
		"no date":         func(m *MovieInput) { m.ReleaseDate = "" },
		"bad date":        func(m *MovieInput) { m.ReleaseDate = "1995-02-30" },
		"year only":       func(m *MovieInput) { m.ReleaseDate = "1995" },
		"negative rating": func(m *MovieInput) { m.Rating = ptr(-0.1) },
		"rating over 10":  func(m *MovieInput) { m.Rating = ptr(10.01) },
		"image not http":  func(m *MovieInput) { m.Image = "javascript:alert(1)" },
		"image relative":  func(m *MovieInput) { m.Image = "/poster.jpg" },
		"empty ref":       func(m *MovieInput) { m.Tags = []Ref{{}} },
		"too many refs":   func(m *MovieInput) { m.Tags = make([]Ref, MaxRefs+1) },
		"long synopsis":   func(m *MovieInput) { m.Synopsis = strings.Repeat("s", MaxSynopsisLen+1) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := validMovie()
			mutate(&in)
			_, err := ValidateMovie(in)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
		})
	}
}

func TestValidateVideo(t *testing.T) {
	ok := VideoInput{MovieID: "m1", Title: "Trailer", LengthSeconds: 90, URL: "https://cdn.example/a.m3u8"}
	if _, err := ValidateVideo(ok); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*VideoInput){
		"no movie": func(v *VideoInput) { v.MovieID = "" },
		"no title": func(v *VideoInput) { v.Title = "" },
		"negative": func(v *VideoInput) { v.LengthSeconds = -1 },
		"too long": func(v *VideoInput) { v.LengthSeconds = MaxVideoLength + 1 },
		"no url":   func(v *VideoInput) { v.URL = "" },
		"ftp url":  func(v *VideoInput) { v.URL = "ftp://x/y" },
	} {
		t.Run(name, func(t *testing.T) {
			in := ok
			mutate(&in)
			if _, err := ValidateVideo(in); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
