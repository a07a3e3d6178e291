package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reconcileChange and reconcileReport are movie-query's answer to
// POST /api/v1/movie-query/admin/reconcile.
type reconcileChange struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	From   int64  `json:"fromVersion"`
	To     int64  `json:"toVersion"`
}

type reconcileReport struct {
	Checked  int               `json:"checked"`
	Repaired []reconcileChange `json:"repaired"`
	Removed  []reconcileChange `json:"removed"`
	Failed   []reconcileChange `json:"failed"`
}

func (r reconcileReport) has(list []reconcileChange, kind, id, reason string) bool {
	return slices.ContainsFunc(list, func(c reconcileChange) bool {
		return c.Kind == kind && c.ID == id && c.Reason == reason
	})
}

func reconcileNow(t testing.TB) reconcileReport {
	t.Helper()
	r := call(t, http.MethodPost, gateway+"/api/v1/movie-query/admin/reconcile", nil,
		"Authorization", "Bearer "+stack.adminToken)
	mustStatus(t, r, http.StatusOK)
	var rep reconcileReport
	r.json(t, &rep)
	return rep
}

// commandSQL runs SQL on movie-command's database, behind movie-command's
// back: a write made this way is a write whose event was lost.
func commandSQL(t testing.TB, sql string) string {
	t.Helper()
	return serviceSQL(t, "movie-command-db", sql)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func createMovie(t testing.TB, name string) movie {
	t.Helper()
	r := command(t, http.MethodPost, "/movies", map[string]any{"name": name, "type": "movie", "releaseDate": "1999-03-31"})
	mustStatus(t, r, http.StatusCreated)
	var m movie
	r.json(t, &m)
	return m
}

func visibleAs(t testing.TB, id, name string) func() bool {
	return func() bool { got, status := queryMovie(t, id); return status == http.StatusOK && got.Name == name }
}

// Events lost between movie-command and movie-query (an update, a create, a
// delete), and a document movie-command never had: reconciliation repairs
// each one and says so.
func TestReconcileRepairsLostEvents(t *testing.T) {
	u := randomHex(3)
	stale := createMovie(t, "Stale "+u)
	gone := createMovie(t, "Gone "+u)
	eventually(t, propagation, "movies visible", func() bool {
		return visibleAs(t, stale.ID, stale.Name)() && visibleAs(t, gone.ID, gone.Name)()
	})

	// An update and a delete whose events never arrive.
	commandSQL(t, fmt.Sprintf(`UPDATE catalog_state SET value = value || '{"name":"Fresh %s","version":"2"}'
		WHERE key = 'movie:%s'`, u, stale.ID))
	commandSQL(t, fmt.Sprintf(`UPDATE catalog_state SET value = value || '{"deleted":true,"version":"2"}'
		WHERE key = 'movie:%s'`, gone.ID))
	// A create whose event never arrives.
	missing := newUUID()
	commandSQL(t, fmt.Sprintf(`INSERT INTO catalog_state (key, value, isbinary) VALUES ('movie:%[1]s',
		'{"id":"%[1]s","name":"Missing %[2]s","type":"movie","synopsis":"","mpaRating":"","releaseDate":"1999-03-31",
		  "rating":0,"image":"","actors":[],"creators":[],"categories":[],"tags":[],"notify":false,"version":"1","deleted":false}',
		false)`, missing, u))
	// A movie movie-command never had (a stray event).
	stray := newUUID()
	publishRaw(t, "catalog", map[string]any{
		"specversion": "1.0", "id": "stray-" + u, "source": "e2e", "type": "tenflix.catalog.movie.created.v1",
		"datacontenttype": "application/json",
		"data":            map[string]any{"id": stray, "name": "Stray " + u, "type": "movie", "version": "1"},
	})
	eventually(t, propagation, "stray movie on the query side", visibleAs(t, stray, "Stray "+u))

	// Admins only.
	r := call(t, http.MethodPost, gateway+"/api/v1/movie-query/admin/reconcile", nil, "Authorization", "Bearer "+stack.userToken)
	mustStatus(t, r, http.StatusForbidden)

	rep := reconcileNow(t)
	t.Logf("reconcile report: checked %d, repaired %+v, removed %+v", rep.Checked, rep.Repaired, rep.Removed)
	if !rep.has(rep.Repaired, "movie", stale.ID, "stale") {
		t.Errorf("report does not name %s as stale", stale.ID)
	}
	if !rep.has(rep.Repaired, "movie", missing, "missing") {
		t.Errorf("report does not name %s as missing", missing)
	}
	if !rep.has(rep.Removed, "movie", gone.ID, "deleted") {
		t.Errorf("report does not name %s as deleted", gone.ID)
	}
	if !rep.has(rep.Removed, "movie", stray, "unknown") {
		t.Errorf("report does not name %s as unknown", stray)
	}
	if len(rep.Failed) != 0 {
		t.Errorf("failed: %+v", rep.Failed)
	}

	// The read model now agrees with movie-command.
	if got, status := queryMovie(t, stale.ID); status != http.StatusOK || got.Name != "Fresh "+u {
		t.Errorf("stale movie after reconcile: %d %+v", status, got)
	}
	if got, status := queryMovie(t, missing); status != http.StatusOK || got.Name != "Missing "+u {
		t.Errorf("missing movie after reconcile: %d %+v", status, got)
	}
	for _, id := range []string{gone.ID, stray} {
		if _, status := queryMovie(t, id); status != http.StatusNotFound {
			t.Errorf("movie %s after reconcile: %d, want 404", id, status)
		}
	}
	// And a second run has nothing left to do for these.
	again := reconcileNow(t)
	for _, id := range []string{stale.ID, missing, gone.ID, stray} {
		for _, c := range append(again.Repaired, again.Removed...) {
			if c.ID == id {
				t.Errorf("second reconcile touched %s again: %+v", id, c)
			}
		}
	}
}

// outage is how long MongoDB stays hung; convergenceBound is how long after
// it answers again the read model may take to hold every write.
const (
	outage           = 60 * time.Second
	convergenceBound = 90 * time.Second
)

// A MongoDB that hangs (SIGSTOP: connections stall, nothing answers) for 60 s
// while 5 movies are written: the events are retried, not dead-lettered, and
// the read model converges once it answers again.
func TestReadModelConvergesAfterMongoOutage(t *testing.T) {
	pidFile := filepath.Join(stack.root, ".data", "pids", "mongodb.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Skipf("no %s (MongoDB/FerretDB is not a child process of its own in this devstack): %v", pidFile, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s holds %q, not a pid", pidFile, raw)
	}
	u := randomHex(3)
	warm := createMovie(t, "Before the outage "+u)
	eventually(t, propagation, "movie visible before the outage", visibleAs(t, warm.ID, warm.Name))

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop mongodb (pid %d): %v", pid, err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("resume mongodb (pid %d): %v", pid, err)
			}
		}
	}
	defer resume()
	stopped := time.Now()

	// Five writes spread over the outage; the query side is not called
	// meanwhile (it would hang with its database).
	var written []movie
	for i := range 5 {
		time.Sleep(time.Until(stopped.Add(time.Duration(i+1) * outage / 7)))
		written = append(written, createMovie(t, fmt.Sprintf("During the outage %d %s", i+1, u)))
	}
	time.Sleep(time.Until(stopped.Add(outage)))
	resume()
	back := time.Now()
	t.Logf("mongodb (pid %d) hung for %s; %d movies written meanwhile", pid, back.Sub(stopped).Round(time.Millisecond), len(written))

	converged := eventually(t, convergenceBound, "every movie written during the outage on the query side", func() bool {
		for _, m := range written {
			if !visibleAs(t, m.ID, m.Name)() {
				return false
			}
		}
		return true
	})
	t.Logf("read model converged %s after the %s MongoDB outage ended", converged.Round(time.Millisecond), outage)
}
