package statestore

import (
	"io/fs"
	"strings"
	"testing"

	"tenflix/services/identity/migrations"
)

// A renamed constraint would turn its violation into a 500: every name the
// store translates must be one the migrations create.
func TestConstraintsAreTheMigrations(t *testing.T) {
	var sql strings.Builder
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		sql.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range constraints {
		if !strings.Contains(sql.String(), name) {
			t.Errorf("constraint %s is in no migration", name)
		}
	}
}
