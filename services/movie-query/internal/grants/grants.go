// Package grants signs playback grants (platform/playback) with the secret
// playback-signing-key, read from the Dapr secret store on first use and
// kept once read: browsing never depends on it, and a secret store that is
// down only refuses playback (503) until it answers.
package grants

import (
	"context"
	"fmt"
	"sync"
	"time"

	"tenflix/platform/playback"
	"tenflix/services/movie-query/internal/watching"
)

// SecretName is the signing key's name in the secret store; media verifies
// with the same key.
const SecretName = "playback-signing-key"

// SecretReader reads the secret store (sidecar.Client).
type SecretReader interface {
	Secret(ctx context.Context, store, name string) (string, error)
}

const readTimeout = 3 * time.Second

// Signer signs with the key of store.
type Signer struct {
	secrets SecretReader
	store   string

	mu     sync.Mutex
	signer *playback.Signer
}

// New signs with the key read from store through secrets.
func New(secrets SecretReader, store string) *Signer {
	return &Signer{secrets: secrets, store: store}
}

// Grant lets userID fetch videoID's files until expires. A key that cannot
// be read wraps watching.ErrUnavailable.
func (s *Signer) Grant(ctx context.Context, userID, videoID string, expires time.Time) (string, error) {
	signer, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	return signer.Grant(userID, videoID, expires), nil
}

func (s *Signer) load(ctx context.Context) (*playback.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer != nil {
		return s.signer, nil
	}
	// Bounded: requests wait here in turn while the secret store is slow.
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	key, err := s.secrets.Secret(ctx, s.store, SecretName)
	if err != nil {
		return nil, fmt.Errorf("%w: playback signing key: %v", watching.ErrUnavailable, err)
	}
	// The secret's text is the key, as media reads it.
	signer, err := playback.NewSigner([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: secret %s: %v", watching.ErrUnavailable, SecretName, err)
	}
	s.signer = signer
	return signer, nil
}
