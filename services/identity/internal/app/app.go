// Package app holds identity's use cases: register, sign in with a password,
// rotate refresh tokens, sign out, and bootstrap the admin account.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"tenflix/services/identity/internal/account"
	"tenflix/services/identity/internal/password"
	"tenflix/services/identity/internal/token"
)

// AdminEmail is the account created at start with roles user and admin.
const AdminEmail = "admin@tenflix.local"

// Users stores new accounts (internal/statestore): one Dapr state
// transaction stores the account and publishes its UserRegistered event
// (without the password hash). An email taken, ignoring case, is
// account.ErrEmailTaken.
type Users interface {
	Create(ctx context.Context, u account.User) error
}

// Store is the rest of the persistence the use cases need
// (internal/postgres): accounts read, sign-in attempts, refresh tokens.
type Store interface {
	UserByEmail(ctx context.Context, email string) (account.User, error)
	UserByID(ctx context.Context, id string) (account.User, error)

	BeginLoginAttempt(ctx context.Context, emailKey, clientKey string, p account.LoginPolicy) (int64, time.Duration, error)
	EndLoginAttempt(ctx context.Context, id int64) error
	ClearLoginAttempts(ctx context.Context, emailKey, clientKey string) error

	CreateRefreshToken(ctx context.Context, hash []byte, userID, familyID string, ttl time.Duration) error
	RotateRefreshToken(ctx context.Context, old, next []byte, ttl time.Duration) (account.User, error)
	RevokeRefreshFamily(ctx context.Context, hash []byte) error
}

// Options configure the use cases.
type Options struct {
	Users  Users
	Store  Store
	Issuer *token.Issuer
	// PasswordParams are the argon2id costs of new hashes (default
	// password.Recommended; tests lower them).
	PasswordParams password.Params
	// HashLimits bound the argon2id computations at once (memory: each
	// holds PasswordParams.Memory); zero fields take password's defaults.
	HashLimits password.Limits
	RefreshTTL time.Duration
	// Login is the sign-in throttling policy; zero fields take
	// account.DefaultLoginPolicy's.
	Login account.LoginPolicy
	Log   *slog.Logger
}

// App runs the use cases.
type App struct {
	opt       Options
	hasher    *password.Hasher
	dummyHash string
}

// New checks opt and prepares the dummy hash that unknown emails are
// verified against, so that they cost as much as known ones.
func New(opt Options) (*App, error) {
	if opt.PasswordParams == (password.Params{}) {
		opt.PasswordParams = password.Recommended
	}
	if opt.Login.Window == 0 {
		opt.Login.Window = account.DefaultLoginPolicy.Window
	}
	if opt.Login.ClientLimit == 0 {
		opt.Login.ClientLimit = account.DefaultLoginPolicy.ClientLimit
	}
	if opt.Login.SlowAfter == 0 {
		opt.Login.SlowAfter = account.DefaultLoginPolicy.SlowAfter
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Users == nil || opt.Store == nil || opt.Issuer == nil || opt.RefreshTTL <= 0 {
		return nil, errors.New("app: users, store, issuer and refresh TTL are required")
	}
	h := password.NewHasher(opt.PasswordParams, opt.HashLimits)
	dummy, err := h.HashPatiently(context.Background(), uuid.NewString())
	if err != nil {
		return nil, err
	}
	return &App{opt: opt, hasher: h, dummyHash: dummy}, nil
}

// Registration is what a person signs up with.
type Registration struct {
	Email    string
	Password string
	Name     string
}

// Register creates an account with the user role only (never admin); its
// UserRegistered event is published by the same transaction. When hashing
// is at capacity it fails with password.ErrBusy.
func (a *App) Register(ctx context.Context, r Registration) (account.User, error) {
	return a.create(ctx, r, []string{account.RoleUser}, a.hasher.Hash)
}

func (a *App) create(ctx context.Context, r Registration, roles []string,
	hashPassword func(context.Context, string) (string, error)) (account.User, error) {
	email, err := account.NormalizeEmail(r.Email)
	if err != nil {
		return account.User{}, err
	}
	name, err := account.NormalizeName(r.Name)
	if err != nil {
		return account.User{}, err
	}
	if err := account.CheckPassword(r.Password, email, name); err != nil {
		return account.User{}, err
	}
	// The unique index decides (a race still ends in ErrEmailTaken); this
	// read spares the routine case a failed state transaction, which stalls
	// daprd's outbox for seconds (statetx.Store.Lock says how), and the hash.
	switch _, err := a.opt.Store.UserByEmail(ctx, email); {
	case err == nil:
		return account.User{}, account.ErrEmailTaken
	case !errors.Is(err, account.ErrNotFound):
		return account.User{}, err
	}
	hash, err := hashPassword(ctx, r.Password)
	if err != nil {
		return account.User{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return account.User{}, err
	}
	u := account.User{
		ID: id.String(), Email: email, Name: name, PasswordHash: hash, Roles: roles,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond), // PostgreSQL's precision
	}
	if err := a.opt.Users.Create(ctx, u); err != nil {
		return account.User{}, err
	}
	return u, nil
}

// Tokens are the answer of a successful grant.
type Tokens struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
}

// PasswordGrant signs in with email and password from clientKey (the
// client's address as the gateway saw it). Unknown emails and wrong
// passwords are one error, and cost the same (a dummy hash is verified).
// Failures are throttled per client and per account as Options.Login says
// (*account.ThrottledError, even with the right password, for the client
// that failed); a client with no failure is never refused by it. When
// hashing is at capacity it fails with password.ErrBusy (not a failure).
func (a *App) PasswordGrant(ctx context.Context, clientKey, email, pw string) (Tokens, error) {
	key := account.EmailKey(email)
	switch {
	case key == "" || pw == "":
		return Tokens{}, &account.ValidationError{Msg: "username and password are required"}
	case len(key) > account.MaxEmailLen:
		return Tokens{}, &account.ValidationError{Msg: fmt.Sprintf("username must be at most %d characters", account.MaxEmailLen)}
	case len(pw) > 4*account.MaxPasswordLen:
		return Tokens{}, &account.ValidationError{Msg: fmt.Sprintf("password must be at most %d characters", account.MaxPasswordLen)}
	}
	attempt, retryAfter, err := a.opt.Store.BeginLoginAttempt(ctx, key, clientKey, a.opt.Login)
	if err != nil {
		return Tokens{}, err
	}
	if retryAfter > 0 {
		return Tokens{}, &account.ThrottledError{RetryAfter: retryAfter}
	}
	u, err := a.opt.Store.UserByEmail(ctx, key)
	found := err == nil
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		a.endAttempt(ctx, attempt)
		return Tokens{}, err
	}
	hash := a.dummyHash
	if found {
		hash = u.PasswordHash
	}
	ok, err := a.hasher.Verify(ctx, hash, pw)
	if err != nil {
		a.endAttempt(ctx, attempt)
		if errors.Is(err, password.ErrBusy) {
			return Tokens{}, err
		}
		return Tokens{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !found || !ok {
		return Tokens{}, account.ErrBadCredentials // the attempt stays: a failure
	}
	if err := a.opt.Store.ClearLoginAttempts(ctx, key, clientKey); err != nil {
		return Tokens{}, err
	}
	return a.issue(func(hash []byte) (account.User, error) {
		return u, a.opt.Store.CreateRefreshToken(ctx, hash, u.ID, uuid.NewString(), a.opt.RefreshTTL)
	})
}

// endAttempt forgets an attempt cut short by an error: it is no failure.
func (a *App) endAttempt(ctx context.Context, id int64) {
	if err := a.opt.Store.EndLoginAttempt(context.WithoutCancel(ctx), id); err != nil {
		a.opt.Log.WarnContext(ctx, "forget login attempt", "err", err)
	}
}

// RefreshGrant exchanges a refresh token for new tokens; the presented one
// stops working. A token presented a second time revokes its session.
func (a *App) RefreshGrant(ctx context.Context, refresh string) (Tokens, error) {
	if err := checkRefreshInput(refresh); err != nil {
		return Tokens{}, err
	}
	var u account.User
	tokens, err := a.issue(func(next []byte) (account.User, error) {
		var err error
		u, err = a.opt.Store.RotateRefreshToken(ctx, token.HashRefresh(refresh), next, a.opt.RefreshTTL)
		return u, err
	})
	if errors.Is(err, account.ErrRefreshReused) {
		a.opt.Log.WarnContext(ctx, "rotated refresh token presented again: session revoked", "user_id", u.ID, "err", err)
	}
	return tokens, err
}

// Logout revokes the session of a refresh token. Unknown tokens are not an
// error: signing out twice is fine.
func (a *App) Logout(ctx context.Context, refresh string) error {
	if err := checkRefreshInput(refresh); err != nil {
		return err
	}
	return a.opt.Store.RevokeRefreshFamily(ctx, token.HashRefresh(refresh))
}

func checkRefreshInput(refresh string) error {
	switch {
	case refresh == "":
		return &account.ValidationError{Msg: "refresh_token is required"}
	case len(refresh) > account.MaxRefreshTokenLen:
		return account.ErrRefreshInvalid
	}
	return nil
}

// issue makes a refresh token, lets save store its hash and say whose it
// is, then signs that user's access token.
func (a *App) issue(save func(hash []byte) (account.User, error)) (Tokens, error) {
	refresh, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	u, err := save(hash)
	if err != nil {
		return Tokens{}, err
	}
	access, err := a.opt.Issuer.Issue(token.Claims{Subject: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, ExpiresIn: a.opt.Issuer.TTL(), RefreshToken: refresh}, nil
}

// Me returns the account of id (taken from the gateway's trusted headers).
func (a *App) Me(ctx context.Context, id string) (account.User, error) {
	if _, err := uuid.Parse(id); err != nil {
		return account.User{}, account.ErrNotFound
	}
	return a.opt.Store.UserByID(ctx, id)
}

// EnsureAdmin creates AdminEmail with roles user and admin and the given
// password when it does not exist. An existing account is left alone: its
// password is not reset (an admin may have changed it) and, if it lacks
// the admin role, it is not promoted (someone else may own it); that case
// is reported. The password is only needed to create the account.
func (a *App) EnsureAdmin(ctx context.Context, pw string) (created bool, err error) {
	existing, err := a.opt.Store.UserByEmail(ctx, AdminEmail)
	switch {
	case err == nil:
		if !existing.IsAdmin() {
			a.opt.Log.ErrorContext(ctx, "bootstrap account exists without the admin role; not promoting it",
				"email", AdminEmail, "user_id", existing.ID)
		}
		return false, nil
	case !errors.Is(err, account.ErrNotFound):
		return false, err
	case pw == "":
		return false, errors.New("admin account missing and no admin password (secret identity-admin-password or ADMIN_PASSWORD)")
	}
	// Patient: a start must not fail because sign-ins keep the hasher busy.
	_, err = a.create(ctx, Registration{Email: AdminEmail, Password: pw, Name: "Administrator"},
		[]string{account.RoleUser, account.RoleAdmin}, a.hasher.HashPatiently)
	if errors.Is(err, account.ErrEmailTaken) {
		return false, nil // another instance created it meanwhile
	}
	var ve *account.ValidationError
	if errors.As(err, &ve) {
		return false, fmt.Errorf("admin password: %s", ve.Msg)
	}
	return err == nil, err
}
