package app

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"tenflix/services/movie-command/internal/catalog"

	catalogv1 "tenflix/proto/catalog/v1"
)

// Named is an actor, creator, category or tag as admins see it.
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func namedView(doc *catalogv1.Named) Named { return Named{ID: doc.Id, Name: doc.Name} }

// nameKey is the lock of a name within a kind.
func nameKey(kind catalog.Kind, name string) string {
	return "name:" + string(kind) + ":" + strings.ToLower(name)
}

// nameTaken checks the name ahead of the transaction, for a clear answer in
// the common case; the unique index settles races.
func (a *App) nameTaken(ctx context.Context, kind catalog.Kind, name, exceptID string) error {
	found, err := a.reads.ResolveRefs(ctx, string(kind), nil, []string{name})
	if err != nil {
		return err
	}
	for _, n := range found {
		if n.ID != exceptID {
			return catalog.ErrNameTaken
		}
	}
	return nil
}

// CreateNamed adds an entry with a new, unique name.
func (a *App) CreateNamed(ctx context.Context, kind catalog.Kind, name string) (Named, error) {
	name, err := catalog.Name("name", name)
	if err != nil {
		return Named{}, err
	}
	doc := &catalogv1.Named{Kind: string(kind), Id: uuid.NewString(), Name: name}
	err = a.create(ctx, string(kind), doc, []string{nameKey(kind, name)}, func() error {
		return a.nameTaken(ctx, kind, name, "")
	})
	if err != nil {
		return Named{}, err
	}
	return namedView(doc), nil
}

// RenameNamed changes an entry's name; renaming to the same name is a no-op.
func (a *App) RenameNamed(ctx context.Context, kind catalog.Kind, id, name string) (Named, error) {
	name, err := catalog.Name("name", name)
	if err != nil {
		return Named{}, err
	}
	doc, err := update(ctx, a, string(kind), id, catalogv1.ActionRenamed, []string{nameKey(kind, name)},
		func(doc *catalogv1.Named) error {
			if doc.Name == name {
				return errUnchanged
			}
			if err := a.nameTaken(ctx, kind, name, id); err != nil {
				return err
			}
			doc.Name = name
			return nil
		})
	if err != nil {
		return Named{}, err
	}
	return namedView(doc), nil
}

// DeleteNamed removes an entry; movies that referenced it stop showing it.
func (a *App) DeleteNamed(ctx context.Context, kind catalog.Kind, id string) error {
	_, err := update(ctx, a, string(kind), id, catalogv1.ActionDeleted, nil, func(doc *catalogv1.Named) error {
		doc.Deleted = true
		return nil
	})
	return err
}

// GetNamed reads one entry.
func (a *App) GetNamed(ctx context.Context, kind catalog.Kind, id string) (Named, error) {
	doc, _, err := get[catalogv1.Named](ctx, a.state, string(kind), id)
	if err != nil {
		return Named{}, err
	}
	return namedView(doc), nil
}

// ListNamed pages through the entries of a kind by name.
func (a *App) ListNamed(ctx context.Context, kind catalog.Kind, q string, p Page) ([]Named, int, error) {
	rows, total, err := a.reads.ListNamed(ctx, string(kind), q, p)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Named, len(rows))
	for i, r := range rows {
		out[i] = Named{ID: r.ID, Name: r.Name}
	}
	return out, total, nil
}
