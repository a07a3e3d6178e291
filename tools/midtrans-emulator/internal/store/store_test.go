package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tenflix/tools/midtrans-emulator/internal/txn"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func session(id string, created time.Time) txn.Transaction {
	return txn.Transaction{OrderID: id, Token: "tok-" + id, GrossAmount: 5000, CreatedAt: created,
		PageExpiresAt: created.Add(time.Hour), NotificationURLs: []string{"http://127.0.0.1:1/n"}}
}

func TestPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(session("b", t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(session("a", t0)); err != nil {
		t.Fatal(err)
	}
	paid, err := s.Update("a", func(t *txn.Transaction) error {
		return t.Simulate(t0, txn.Simulation{Status: txn.Settlement, PaymentType: txn.Gopay})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A refusal after a change (an expiry found on the way) still saves the change.
	if _, err := s.Update("b", func(t *txn.Transaction) error {
		t.FinishURL = "http://127.0.0.1/done"
		return errors.New("refused")
	}); err == nil {
		t.Fatal("fn's error lost")
	}

	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.OrderIDs(); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("order ids %v", got)
	}
	a, ok := again.Get(paid.TransactionID) // Midtrans accepts the transaction id for the order id
	if !ok || a.Status != txn.Settlement || a.OrderID != "a" || len(a.History) != 1 {
		t.Fatalf("reloaded a: %+v", a)
	}
	if b, _ := again.ByToken("tok-b"); b.FinishURL != "http://127.0.0.1/done" {
		t.Errorf("b: %+v", b)
	}
	if _, err := again.Create(session("a", t0)); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate after reopen: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("files left: %v", entries)
	}
}

func TestCopiesAreNotShared(t *testing.T) {
	s, _ := Open("")
	created, _ := s.Create(session("a", t0))
	created.NotificationURLs[0] = "changed"
	got, _ := s.Get("a")
	got.History = append(got.History, txn.Change{})
	again, _ := s.Get("a")
	if again.NotificationURLs[0] != "http://127.0.0.1:1/n" || len(again.History) != 0 {
		t.Errorf("store state changed through a copy: %+v", again)
	}
	if _, err := s.Update("nope", func(*txn.Transaction) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
}

func TestRefusesACorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("opened a corrupt file")
	}
}
