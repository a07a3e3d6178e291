package e2e

import (
	"net/http"
	"testing"
)

// Stopping the stack (Ctrl-C) and starting it again loses nothing: what was
// written is still there on both sides, a write whose event was still in the
// outbox when the stack stopped arrives after the restart, and new writes
// flow as before.
func TestStopAndStartLosesNothing(t *testing.T) {
	u := randomHex(3)
	create := func(name string) movie {
		t.Helper()
		r := command(t, http.MethodPost, "/movies", map[string]any{"name": name, "type": "movie", "releaseDate": "2010-07-16"})
		mustStatus(t, r, http.StatusCreated)
		var m movie
		r.json(t, &m)
		return m
	}
	visible := func(m movie) func() bool {
		return func() bool { got, status := queryMovie(t, m.ID); return status == http.StatusOK && got.Name == m.Name }
	}

	settled := create("Inception " + u)
	eventually(t, propagation, "movie visible before the restart", visible(settled))
	// The outbox waits about a second before publishing: stopping right away
	// leaves this one's event in flight.
	inFlight := create("Tenet " + u)

	stack.stop()
	if err := stack.start(); err != nil {
		t.Fatalf("restart: %v", err)
	}

	mustStatus(t, command(t, http.MethodGet, "/movies/"+settled.ID, nil), http.StatusOK)
	mustStatus(t, command(t, http.MethodGet, "/movies/"+inFlight.ID, nil), http.StatusOK)
	if _, status := queryMovie(t, settled.ID); status != http.StatusOK {
		t.Fatalf("query side lost %s after restart: %d", settled.Name, status)
	}
	eventually(t, propagation, "in-flight write visible after the restart", visible(inFlight))
	after := create("Interstellar " + u)
	eventually(t, propagation, "new write visible after the restart", visible(after))
}
