package app

import (
	"testing"

	catalogv1 "tenflix/proto/catalog/v1"
)

func TestBumpVersionCountsEveryAggregate(t *testing.T) {
	for _, doc := range []document{&catalogv1.Named{Version: 1}, &catalogv1.Movie{Version: 1}, &catalogv1.Video{Version: 1}} {
		bumpVersion(doc)
		if doc.GetVersion() != 2 {
			t.Errorf("%T version %d after a bump from 1", doc, doc.GetVersion())
		}
	}
}
