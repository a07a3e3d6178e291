package statetx

import (
	"slices"
	"sync"
)

// keyLocks serialises writes to the same key within this instance (why:
// Store.Lock).
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	waiters int
}

// lock takes the locks of every key (in a fixed order, so two callers never
// deadlock) and returns the function that releases them; calling it again
// does nothing.
func (k *keyLocks) lock(keys ...string) (unlock func()) {
	keys = sortedUnique(keys)
	held := make([]*keyLock, 0, len(keys))
	for _, key := range keys {
		k.mu.Lock()
		if k.locks == nil {
			k.locks = map[string]*keyLock{}
		}
		l, ok := k.locks[key]
		if !ok {
			l = &keyLock{}
			k.locks[key] = l
		}
		l.waiters++
		k.mu.Unlock()
		l.Lock()
		held = append(held, l)
	}
	return sync.OnceFunc(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for i, l := range held {
			l.Unlock()
			if l.waiters--; l.waiters == 0 {
				delete(k.locks, keys[i])
			}
		}
	})
}

func sortedUnique(keys []string) []string {
	out := make([]string, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
