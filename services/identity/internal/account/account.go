// Package account holds identity's rules: what valid emails, names and
// passwords are, which roles exist, and the errors the use cases return.
package account

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Roles. The database accepts no other value (CHECK on users.roles).
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Limits of user input.
const (
	MaxEmailLen        = 254 // RFC 5321 path limit
	maxLocalPartLen    = 64
	MinPasswordLen     = 10
	MaxPasswordLen     = 128 // characters; bounds the hashing work one request can ask for
	MaxNameLen         = 100
	MaxRefreshTokenLen = 256
)

// User is an account.
type User struct {
	ID           string
	Email        string
	Name         string
	PasswordHash string
	Roles        []string
	CreatedAt    time.Time
}

// IsAdmin reports whether the user holds the admin role.
func (u User) IsAdmin() bool { return slices.Contains(u.Roles, RoleAdmin) }

var (
	// ErrNotFound: no such account.
	ErrNotFound = errors.New("account not found")
	// ErrEmailTaken: another account has this email, ignoring case.
	ErrEmailTaken = errors.New("email already registered")
	// ErrBadCredentials: unknown email or wrong password; deliberately one error.
	ErrBadCredentials = errors.New("invalid email or password")
	// ErrRefreshInvalid: the refresh token is unknown or revoked.
	ErrRefreshInvalid = errors.New("refresh token unknown or revoked")
	// ErrRefreshExpired: the refresh token is past its expiry.
	ErrRefreshExpired = errors.New("refresh token expired")
	// ErrRefreshReused: an already rotated refresh token came back; its whole
	// family (session) has been revoked, since one of the two holders is a thief.
	ErrRefreshReused = errors.New("refresh token reused")
)

// ValidationError is bad input, with a message fit for the client.
type ValidationError struct {
	Msg string
}

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// LoginPolicy is how failed sign-ins slow guessing down without letting
// anyone lock an owner out. Failures are counted per account (email, known
// or not) and per client (the address the gateway saw) within Window:
//
//   - A client with ClientLimit failures for an account is refused (429,
//     Retry-After) for that account until the oldest of them leaves the
//     window, even with the right password: otherwise its guessing goes on.
//     Other clients are not affected.
//   - Once an account has SlowAfter failures from all clients together, a
//     client that already failed for it must space its attempts by
//     Spacing(failures): 1 s, doubling every ClientLimit further failures, up
//     to MaxSpacing. Spread over many addresses, guessing gets at most
//     ClientLimit tries per address and Window, and those are spaced; the cap
//     is short because the owner, one typo into an attack, is spaced too:
//     they wait at most MaxSpacing, never a lockout.
//   - A client with no failure for the account is never refused: the owner
//     signing in from a fresh client gets a password check, whatever others
//     did. A success forgets that client's failures only (the account-wide
//     count describes an attack and is left to expire).
type LoginPolicy struct {
	Window      time.Duration
	ClientLimit int
	SlowAfter   int
	MaxSpacing  time.Duration // 0: DefaultLoginPolicy's
}

// DefaultLoginPolicy: 5 guesses per client and account per 15 minutes;
// account-wide slow-down from 10 failures on, up to 30 s between attempts.
var DefaultLoginPolicy = LoginPolicy{Window: 15 * time.Minute, ClientLimit: 5, SlowAfter: 10, MaxSpacing: 30 * time.Second}

// Spacing is the least time a client with failures must leave between its
// attempts on an account that has accountFailures failures in the window.
func (p LoginPolicy) Spacing(accountFailures int) time.Duration {
	if accountFailures < p.SlowAfter {
		return 0
	}
	limit := p.MaxSpacing
	if limit <= 0 {
		limit = DefaultLoginPolicy.MaxSpacing
	}
	doublings := (accountFailures - p.SlowAfter) / max(p.ClientLimit, 1)
	if doublings > 30 { // no overflow; the limit caps it long before
		return limit
	}
	return min(time.Second<<doublings, limit)
}

// ThrottledError: too many failed sign-ins from this client for an account;
// RetryAfter is when its next attempt will be considered.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins, retry after %s", e.RetryAfter)
}

// EmailKey is the form emails are compared in (the database's unique index
// uses the same lower()).
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// NormalizeEmail trims and validates an email address. The case is kept as
// typed; uniqueness ignores it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid("email is required")
	case len(s) > MaxEmailLen:
		return "", invalid("email must be at most %d characters", MaxEmailLen)
	case hasControl(s):
		return "", invalid("email contains control characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || strings.Count(s, "@") != 1 {
		return "", invalid("email is not a valid address (like name@example.com)")
	}
	local, domain, _ := strings.Cut(s, "@")
	if len(local) > maxLocalPartLen {
		return "", invalid("email: the part before @ must be at most %d characters", maxLocalPartLen)
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.HasPrefix(domain, "[") {
		return "", invalid("email is not a valid address (like name@example.com)")
	}
	return s, nil
}

// NormalizeName trims and validates a display name.
func NormalizeName(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", invalid("name is required")
	case utf8.RuneCountInString(s) > MaxNameLen:
		return "", invalid("name must be at most %d characters", MaxNameLen)
	case !utf8.ValidString(s) || hasControl(s):
		return "", invalid("name contains invalid characters")
	}
	return s, nil
}

// CheckPassword applies the password policy: 10 to 128 characters, not a
// common or trivially predictable password, not the user's email or name.
// Passwords are not trimmed: spaces are characters like any other.
func CheckPassword(pw, email, name string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		return invalid("password is required")
	case n < MinPasswordLen:
		return invalid("password must be at least %d characters", MinPasswordLen)
	case n > MaxPasswordLen:
		return invalid("password must be at most %d characters", MaxPasswordLen)
	case !utf8.ValidString(pw) || hasControl(pw):
		return invalid("password contains invalid characters")
	}
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(EmailKey(email), "@")
	for _, personal := range []string{EmailKey(email), local, strings.ToLower(strings.TrimSpace(name))} {
		if personal != "" && (lower == personal || (len(personal) >= MinPasswordLen-2 && strings.Contains(lower, personal))) {
			return invalid("password must not contain your email or name")
		}
	}
	if !hasLetter(pw) {
		return invalid("password must contain at least one letter")
	}
	if isCommon(lower) || isRepetitive(lower) {
		return invalid("password is too common or predictable; choose a longer, less guessable one")
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}
