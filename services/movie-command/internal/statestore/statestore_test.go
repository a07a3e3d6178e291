package statestore

import (
	"errors"
	"fmt"
	"testing"

	"tenflix/platform/sidecar"
	"tenflix/services/movie-command/internal/catalog"
)

// daprd's answers to a failed state transaction, shaped as daprd 1.14 writes
// them (messages.ErrStateTransaction around pgx's error text) and as the
// sidecar client returns them.
func transactionFailed(pgError string) error {
	return fmt.Errorf("state transaction: %w", &sidecar.APIError{
		Status: 500, ErrorCode: "ERR_STATE_TRANSACTION",
		Message: "error while executing state transaction: failed to commit transaction: " + pgError,
	})
}

func TestCommitErrNamesTheBrokenRule(t *testing.T) {
	other := transactionFailed("ERROR: relation \"catalog_state\" does not exist (SQLSTATE 42P01)")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"committed", nil, nil},
		{"etag", fmt.Errorf("state transaction: %w (possible etag mismatch)", sidecar.ErrETagMismatch), catalog.ErrConflict},
		{"name taken", transactionFailed(`ERROR: duplicate key value violates unique constraint "catalog_named_unique_name" (SQLSTATE 23505)`), catalog.ErrNameTaken},
		{"video of a deleted movie", transactionFailed("ERROR: catalog_video_movie_live: video:v references movie m, which is missing or deleted (SQLSTATE 23503)"), catalog.ErrMovieNotLive},
		{"movie with a new video", transactionFailed("ERROR: catalog_movie_no_live_videos: movie:m is deleted but video:v still references it (SQLSTATE 23503)"), catalog.ErrConflict},
		{"deadlock victim", transactionFailed("ERROR: deadlock detected (SQLSTATE 40P01)"), catalog.ErrConflict},
		{"anything else", other, other},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := commitErr(c.err); !errors.Is(got, c.want) || (c.want == nil) != (got == nil) {
				t.Fatalf("commitErr = %v, want %v", got, c.want)
			}
		})
	}
}
