package statetx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"tenflix/platform/sidecar"
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
	errNameTaken := errors.New("name taken")
	errParentGone := errors.New("parent gone")
	errRaced := fmt.Errorf("%w: a child was added meanwhile", ErrConflict)
	s := New(nil, "state", Options{Constraints: map[string]error{
		"things_unique_name":  errNameTaken,
		"things_parent_live":  errParentGone,
		"things_no_live_kids": errRaced,
		"things_unique":       errors.New("a prefix of another name"),
	}})
	other := transactionFailed("ERROR: relation \"things_state\" does not exist (SQLSTATE 42P01)")
	unreachable := fmt.Errorf("state transaction: %w", errors.New("connection refused"))
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"committed", nil, nil},
		{"etag", fmt.Errorf("state transaction: %w (possible etag mismatch)", sidecar.ErrETagMismatch), ErrConflict},
		{"unique index", transactionFailed(`ERROR: duplicate key value violates unique constraint "things_unique_name" (SQLSTATE 23505)`), errNameTaken},
		{"constraint trigger", transactionFailed("ERROR: things_parent_live: thing:t references parent p, which is missing or deleted (SQLSTATE 23503)"), errParentGone},
		{"constraint mapped to a conflict", transactionFailed("ERROR: things_no_live_kids: parent:p is deleted but thing:t still references it (SQLSTATE 23503)"), ErrConflict},
		{"deadlock victim", transactionFailed("ERROR: deadlock detected (SQLSTATE 40P01)"), ErrConflict},
		{"anything else", other, other},
		{"no answer", unreachable, unreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.commitErr(c.err); !errors.Is(got, c.want) || (c.want == nil) != (got == nil) {
				t.Fatalf("commitErr = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCommitRefusesBlindOrUntypedWrites(t *testing.T) {
	// No sidecar listens on this port: a write that got as far as the
	// transaction would fail differently.
	s := New(sidecar.New("1", ""), "state", Options{})
	doc, _ := structpb.NewStruct(map[string]any{"name": "x"})
	valid := Write{Key: "thing:0", Doc: doc, EventType: "thing.created", Create: true}
	for name, c := range map[string]struct {
		w    Write
		want string
	}{
		"neither create nor etag": {Write{Key: "thing:1", Doc: doc, EventType: "thing.updated"}, "no blind overwrites"},
		"both create and etag":    {Write{Key: "thing:1", Doc: doc, EventType: "thing.created", Create: true, ETag: "3"}, "no blind overwrites"},
		"no event type":           {Write{Key: "thing:1", Doc: doc, ETag: "3"}, "no event type"},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.Commit(context.Background(), valid, c.w)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Commit = %v, want %q", err, c.want)
			}
		})
	}
}
