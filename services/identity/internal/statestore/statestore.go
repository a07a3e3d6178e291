// Package statestore is identity's Dapr state store "identity-state"
// (PostgreSQL table identity_state, outbox enabled: topic users). An account
// is the document tenflix.identity.v1.Account under "user:<id>"; the state
// transaction that stores it also publishes UserRegistered, as the outbox
// projection of that document: the document holds the password hash, so it
// is never the published data. The migrations' constraints come back as
// identity's errors.
package statestore

import (
	"context"
	"fmt"
	"time"

	identityv1 "tenflix/proto/identity/v1"

	"tenflix/platform/sidecar"
	"tenflix/platform/statetx"
	"tenflix/services/identity/internal/account"
)

// Name is the state store component's default name.
const Name = "identity-state"

// userKind is the kind part of account keys ("user:<id>"); the SQL of
// internal/postgres and the migrations split keys the same way.
const userKind = "user"

// constraints of the migrations, by the name daprd's error text gives them.
var constraints = map[string]error{
	// 003: one account per email, ignoring case.
	"identity_users_unique_email": account.ErrEmailTaken,
}

// Users writes accounts (app.Users).
type Users struct {
	store *statetx.Store
}

// New uses the state store component name of the sidecar dapr.
func New(dapr *sidecar.Client, name string) *Users {
	return &Users{store: statetx.New(dapr, name, statetx.Options{Constraints: constraints})}
}

// Key is the state key of the account id.
func Key(id string) string { return statetx.Key(userKind, id) }

// Create stores u, insert-only, and publishes its UserRegistered in the same
// transaction. An email another account has (ignoring case) is
// account.ErrEmailTaken.
func (s *Users) Create(ctx context.Context, u account.User) error {
	err := s.store.Commit(ctx, statetx.Write{
		Key:       Key(u.ID),
		Doc:       document(u),
		EventType: identityv1.EventUserRegistered,
		Create:    true,
		Event:     registered(u),
	})
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.ID, err)
	}
	return nil
}

// document is the stored form of u.
func document(u account.User) *identityv1.Account {
	return &identityv1.Account{
		Id: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash,
		Roles: u.Roles, CreatedAt: timestamp(u.CreatedAt),
	}
}

// registered is the event announcing u: no hash, no roles.
func registered(u account.User) *identityv1.UserRegistered {
	return &identityv1.UserRegistered{Id: u.ID, Email: u.Email, Name: u.Name, RegisteredAt: timestamp(u.CreatedAt)}
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
