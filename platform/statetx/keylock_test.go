package statetx

import (
	"sync"
	"testing"
)

func TestLockSerialisesPerKey(t *testing.T) {
	s := New(nil, "state", Options{})
	var wg sync.WaitGroup
	var counter [2]int // one per key: writes under the same key must not race
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []string{"a", "b"}[i%2]
			unlock := s.Lock(key, "shared-"+key)
			counter[i%2]++ // a data race here would fail -race
			unlock()
			unlock() // a second call is harmless
		}()
	}
	wg.Wait()
	if counter[0] != 100 || counter[1] != 100 {
		t.Fatalf("counter %v", counter)
	}
	if len(s.locks.locks) != 0 {
		t.Fatalf("locks not released: %d left", len(s.locks.locks))
	}
}
