package projector_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"tenflix/platform/subscriber"
	"tenflix/services/movie-query/internal/catalog"
	"tenflix/services/movie-query/internal/mongostore"
	"tenflix/services/movie-query/internal/mongostore/mongotest"
	"tenflix/services/movie-query/internal/projector"
)

const movieJSON = `{"id":"m1","name":"Heat","type":"movie","synopsis":"LA crime saga","mpaRating":"R",
	"releaseDate":"1995-12-15","rating":8.3,"image":"https://img.example/heat.jpg",
	"actors":[{"id":"a1","name":"Al Pacino","version":"1"}],"creators":[{"id":"d1","name":"Michael Mann","version":1}],
	"categories":[],"notify":true,"version":"%d","addedLater":{"x":1}}`

func event(typ, data string) subscriber.Event {
	return subscriber.Event{ID: "e1", Type: typ, Topic: "catalog", Data: json.RawMessage(data)}
}

func newProjector(t *testing.T) (*projector.Projector, *mongostore.Store) {
	t.Helper()
	s := mongotest.NewStore(t)
	return projector.New(s), s
}

func mustHandle(t *testing.T, p *projector.Projector, ev subscriber.Event) {
	t.Helper()
	if err := p.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle(%s): %v", ev.Type, err)
	}
}

func TestHandleDecodesEveryDataForm(t *testing.T) {
	quoted, _ := json.Marshal(fmt.Sprintf(movieJSON, 1))
	tests := []struct {
		name string
		ev   subscriber.Event
	}{
		{"data object", event("tenflix.catalog.movie.created.v1", fmt.Sprintf(movieJSON, 1))},
		{"data JSON string", event("tenflix.catalog.movie.created.v1", string(quoted))},
		{"data_base64", subscriber.Event{
			Type:       "tenflix.catalog.movie.created.v1",
			DataBase64: base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(movieJSON, 1))),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := newProjector(t)
			mustHandle(t, p, tt.ev)
			d, err := s.Movie(context.Background(), "m1")
			if err != nil {
				t.Fatal(err)
			}
			if d.Name != "Heat" || d.Version != 1 || !d.Notify || d.Rating != 8.3 ||
				len(d.Actors) != 1 || d.Actors[0] != (catalog.Ref{ID: "a1", Name: "Al Pacino", Version: 1}) ||
				len(d.Creators) != 1 || d.Creators[0].Name != "Michael Mann" {
				t.Fatalf("movie = %+v", d.Movie)
			}
		})
	}
}

func TestHandleAppliesEachAggregate(t *testing.T) {
	p, s := newProjector(t)
	ctx := context.Background()
	mustHandle(t, p, event("tenflix.catalog.actor.created.v1", `{"kind":"actor","id":"a1","name":"Al Pacino","version":1}`))
	mustHandle(t, p, event("tenflix.catalog.movie.created.v1", fmt.Sprintf(movieJSON, 1)))
	mustHandle(t, p, event("tenflix.catalog.actor.renamed.v1", `{"kind":"actor","id":"a1","name":"Alfredo Pacino","version":"2"}`))
	mustHandle(t, p, event("tenflix.catalog.creator.deleted.v1", `{"id":"d1","version":2,"deleted":true}`))
	mustHandle(t, p, event("tenflix.catalog.video.created.v1",
		`{"id":"v1","movieId":"m1","title":"Trailer","lengthSeconds":150,"url":"https://cdn.example/v1.mp4","status":"ready","version":1}`))
	mustHandle(t, p, event("tenflix.catalog.video.created.v1",
		`{"id":"v2","movieId":"m1","title":"Teaser","version":1}`))
	mustHandle(t, p, event("tenflix.catalog.video.deleted.v1", `{"id":"v2","movieId":"m1","version":2}`))

	d, err := s.Movie(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Actors) != 1 || d.Actors[0].Name != "Alfredo Pacino" {
		t.Errorf("actors = %+v, want the renamed actor", d.Actors)
	}
	if len(d.Creators) != 0 {
		t.Errorf("creators = %+v, want none after the delete", d.Creators)
	}
	want := catalog.Video{ID: "v1", MovieID: "m1", Title: "Trailer", LengthSeconds: 150,
		URL: "https://cdn.example/v1.mp4", Status: catalog.StatusReady, Playback: catalog.PlaybackURL, Version: 1}
	if len(d.Videos) != 1 || d.Videos[0] != want {
		t.Errorf("videos = %+v, want [%+v]", d.Videos, want)
	}

	mustHandle(t, p, event("tenflix.catalog.movie.deleted.v1", `{"id":"m1","version":"2"}`))
	mustHandle(t, p, event("tenflix.catalog.movie.updated.v1", fmt.Sprintf(movieJSON, 1)))
	if _, err := s.Movie(ctx, "m1"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("deleted movie: err = %v, want ErrNotFound", err)
	}
}

func TestHandleDropsPoisonEvents(t *testing.T) {
	p, _ := newProjector(t)
	tests := []struct {
		name string
		ev   subscriber.Event
	}{
		{"unknown type", event("com.example.other", `{}`)},
		{"unknown version of a type", event("tenflix.catalog.movie.created.v2", fmt.Sprintf(movieJSON, 1))},
		{"unknown aggregate", event("tenflix.catalog.season.created.v1", `{"id":"s1","version":1}`)},
		{"action not for movies", event("tenflix.catalog.movie.renamed.v1", fmt.Sprintf(movieJSON, 1))},
		{"action not for named", event("tenflix.catalog.tag.updated.v1", `{"id":"t1","name":"x","version":1}`)},
		{"no data", event("tenflix.catalog.movie.created.v1", ``)},
		{"null data", event("tenflix.catalog.movie.created.v1", `null`)},
		{"malformed data", event("tenflix.catalog.movie.created.v1", `{"id":`)},
		{"data of the wrong shape", event("tenflix.catalog.movie.created.v1", `{"id":"m1","version":1,"rating":"high"}`)},
		{"data is not an object", event("tenflix.catalog.movie.created.v1", `[1,2]`)},
		{"string data that is not JSON", event("tenflix.catalog.movie.created.v1", `"map[id:m1]"`)},
		{"bad base64", subscriber.Event{Type: "tenflix.catalog.movie.created.v1", DataBase64: "%%%"}},
		{"missing id", event("tenflix.catalog.movie.created.v1", `{"name":"x","version":1}`)},
		{"missing version", event("tenflix.catalog.movie.created.v1", `{"id":"m1","name":"x"}`)},
		{"negative version", event("tenflix.catalog.actor.created.v1", `{"id":"a1","name":"x","version":-3}`)},
		{"kind contradicts type", event("tenflix.catalog.actor.created.v1", `{"kind":"tag","id":"a1","name":"x","version":1}`)},
		{"video without movie", event("tenflix.catalog.video.created.v1", `{"id":"v1","title":"x","version":1}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Handle(context.Background(), tt.ev)
			if !errors.Is(err, subscriber.ErrDrop) {
				t.Fatalf("Handle = %v, want an ErrDrop", err)
			}
		})
	}
}

func TestHandleRetriesStoreFailures(t *testing.T) {
	client := mongotest.Client(t)
	db := client.Database(mongotest.NewDatabaseName(t, client))
	s, err := mongostore.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	p := projector.New(s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the store cannot reach the database any more

	err = p.Handle(ctx, event("tenflix.catalog.movie.created.v1", fmt.Sprintf(movieJSON, 1)))
	if err == nil || errors.Is(err, subscriber.ErrDrop) {
		t.Fatalf("Handle = %v, want an error that is not ErrDrop", err)
	}
}
