// Package store keeps the emulator's transactions in memory and, given a
// directory, in a JSON file there, rewritten atomically after every change so
// that a restart (or a crash) keeps what was answered.
package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"tenflix/tools/midtrans-emulator/internal/txn"
)

// ErrExists: a transaction with that order id exists.
var ErrExists = errors.New("order id exists")

// ErrNotFound: no transaction has that order id, token or transaction id.
var ErrNotFound = errors.New("no such transaction")

// FileName is the file kept in the data directory.
const FileName = "transactions.json"

// Store is safe for concurrent use; every change runs under one lock.
type Store struct {
	mu   sync.Mutex
	txns map[string]*txn.Transaction // by order id
	file string                      // "": memory only
}

type fileFormat struct {
	Version      int               `json:"version"`
	Transactions []txn.Transaction `json:"transactions"`
}

// Open loads dir's file (created on the first change), or keeps everything
// in memory when dir is "".
func Open(dir string) (*Store, error) {
	s := &Store{txns: map[string]*txn.Transaction{}}
	if dir == "" {
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s.file = filepath.Join(dir, FileName)
	raw, err := os.ReadFile(s.file)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var f fileFormat
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", s.file, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: unknown version %d", s.file, f.Version)
	}
	for i := range f.Transactions {
		t := f.Transactions[i]
		s.txns[t.OrderID] = &t
	}
	return s, nil
}

// Create adds t, refusing an order id that exists; the existing one is
// returned with ErrExists so that the caller can tell paid from unpaid.
func (s *Store) Create(t txn.Transaction) (txn.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.txns[t.OrderID]; ok {
		return old.Clone(), ErrExists
	}
	s.txns[t.OrderID] = &t
	if err := s.save(); err != nil {
		delete(s.txns, t.OrderID)
		return txn.Transaction{}, err
	}
	return t.Clone(), nil
}

// Update runs fn on the transaction with that order id (or transaction id,
// which Midtrans accepts in its place) and saves it, whatever fn returns: fn
// may have expired it before refusing the change asked. It returns the
// transaction as it is after fn.
func (s *Store) Update(id string, fn func(*txn.Transaction) error) (txn.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(id)
	if t == nil {
		return txn.Transaction{}, ErrNotFound
	}
	before := t.Clone()
	fnErr := fn(t)
	if err := s.save(); err != nil {
		*t = before
		return txn.Transaction{}, err
	}
	return t.Clone(), fnErr
}

// Get returns the transaction with that order id or transaction id.
func (s *Store) Get(id string) (txn.Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.find(id)
	if t == nil {
		return txn.Transaction{}, false
	}
	return t.Clone(), true
}

// ByToken returns the transaction of a Snap token.
func (s *Store) ByToken(token string) (txn.Transaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.txns {
		if t.Token == token {
			return t.Clone(), true
		}
	}
	return txn.Transaction{}, false
}

// OrderIDs lists every order id, oldest first.
func (s *Store) OrderIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orderIDs()
}

func (s *Store) orderIDs() []string {
	ids := make([]string, 0, len(s.txns))
	for id := range s.txns {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := s.txns[a].CreatedAt.Compare(s.txns[b].CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

func (s *Store) find(id string) *txn.Transaction {
	if t, ok := s.txns[id]; ok {
		return t
	}
	for _, t := range s.txns {
		if t.TransactionID != "" && t.TransactionID == id {
			return t
		}
	}
	return nil
}

// save writes every transaction to a temporary file in the same directory,
// syncs it and renames it over the file: a reader (or a restart after a
// crash) sees the old file or the new one, never half of one.
func (s *Store) save() error {
	if s.file == "" {
		return nil
	}
	f := fileFormat{Version: 1, Transactions: []txn.Transaction{}}
	for _, id := range s.orderIDs() {
		f.Transactions = append(f.Transactions, *s.txns[id])
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.file)
	tmp, err := os.CreateTemp(dir, FileName+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.file); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
