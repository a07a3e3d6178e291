package app

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"tenflix/platform/statetx"
	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// memState holds documents by key, with their version as the ETag, and
// records every commit; it stands in for the state store so that the
// routine's own contract can be read here (the real one is exercised by
// the httpapi fuzz test and the e2e tests).
type memState struct {
	docs    map[string]proto.Message
	commits [][]statetx.Write
}

func (s *memState) Get(_ context.Context, key string, doc proto.Message) (string, error) {
	d, ok := s.docs[key]
	if !ok {
		return "", statetx.ErrNotFound
	}
	proto.Merge(doc, d)
	return "etag-" + key, nil
}

func (s *memState) Commit(_ context.Context, writes ...statetx.Write) error {
	s.commits = append(s.commits, writes)
	return nil
}

func (s *memState) Lock(...string) func() { return func() {} }

func TestUpdateCommitsTheChangeOneVersionUp(t *testing.T) {
	ctx := context.Background()
	s := &memState{docs: map[string]proto.Message{
		"tag:t":    &catalogv1.Named{Kind: "tag", Id: "t", Name: "Noir", Version: 3},
		"tag:gone": &catalogv1.Named{Kind: "tag", Id: "gone", Name: "Old", Version: 2, Deleted: true},
	}}
	a := New(s, nil)

	n, err := a.RenameNamed(ctx, catalog.Tag, "t", "Noir") // the same name: nothing to commit
	if err != nil || n.Name != "Noir" || len(s.commits) != 0 {
		t.Fatalf("rename to the same name = %+v, %v; commits %v", n, err, s.commits)
	}
	if err := a.DeleteNamed(ctx, catalog.Tag, "t"); err != nil {
		t.Fatal(err)
	}
	if len(s.commits) != 1 || len(s.commits[0]) != 1 {
		t.Fatalf("commits %v, want one write", s.commits)
	}
	w := s.commits[0][0]
	doc := w.Doc.(*catalogv1.Named)
	if w.Key != "tag:t" || w.ETag != "etag-tag:t" || w.Create || w.EventType != "tenflix.catalog.tag.deleted.v1" ||
		!doc.Deleted || doc.Version != 4 {
		t.Fatalf("write %+v", w)
	}

	for _, id := range []string{"gone", "missing"} {
		if err := a.DeleteNamed(ctx, catalog.Tag, id); !errors.Is(err, catalog.ErrNotFound) {
			t.Fatalf("delete of %s = %v, want not found", id, err)
		}
	}
	if len(s.commits) != 1 {
		t.Fatalf("a refused change was committed: %v", s.commits[1:])
	}
}

func TestBumpVersionCountsEveryAggregate(t *testing.T) {
	for _, doc := range []document{&catalogv1.Named{Version: 1}, &catalogv1.Movie{Version: 1}, &catalogv1.Video{Version: 1}} {
		bumpVersion(doc)
		if doc.GetVersion() != 2 {
			t.Errorf("%T version %d after a bump from 1", doc, doc.GetVersion())
		}
	}
}
