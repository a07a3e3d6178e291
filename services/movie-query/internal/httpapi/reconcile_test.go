package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
	"tenflix/platform/httpserver"
	"tenflix/services/movie-query/internal/httpapi"
	"tenflix/services/movie-query/internal/reconcile"
)

// reconciler answers what it is told; the use case itself is tested in
// internal/reconcile against real databases.
type reconciler struct {
	report reconcile.Report
	err    error
}

func (r reconciler) Run(context.Context) (reconcile.Report, error) { return r.report, r.err }

func TestReconcileRoutes(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	report := reconcile.Report{Checked: 3, Failed: []reconcile.Change{},
		Repaired: []reconcile.Change{{Kind: "movie", ID: "m1", Reason: reconcile.ReasonStale, From: 1, To: 2}},
		Removed:  []reconcile.Change{{Kind: "video", ID: "v1", Reason: reconcile.ReasonUnknown, From: 4}}}
	tests := []struct {
		name     string
		rec      reconciler
		path     string
		wantCode int
		want     string
	}{
		{"admin route", reconciler{report: report}, "/api/v1/movie-query/admin/reconcile", http.StatusOK,
			`{"checked":3,"repaired":[{"kind":"movie","id":"m1","reason":"stale","fromVersion":1,"toVersion":2}],` +
				`"removed":[{"kind":"video","id":"v1","reason":"unknown","fromVersion":4}],"failed":[]}`},
		{"cron binding route", reconciler{report: report}, "/reconcile-cron", http.StatusOK, ""},
		{"already running", reconciler{err: reconcile.ErrRunning}, "/api/v1/movie-query/admin/reconcile", http.StatusConflict, ""},
		{"a side is down", reconciler{err: context.DeadlineExceeded}, "/reconcile-cron", http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			engine := httpserver.NewEngine(httpserver.Options{Log: log})
			httpapi.ReconcileRoutes(engine, tt.rec)
			code, body := do(t, engine, http.MethodPost, tt.path, "")
			if code != tt.wantCode {
				t.Fatalf("POST %s = %d %s, want %d", tt.path, code, body, tt.wantCode)
			}
			if tt.want != "" && string(body) != tt.want {
				t.Errorf("body = %s\nwant   %s", body, tt.want)
			}
			if code != http.StatusOK && decode(t, body)["error"] == nil {
				t.Errorf("error answer without the envelope: %s", body)
			}
		})
	}
	// The admin checks guard the admin route only.
	engine := httpserver.NewEngine(httpserver.Options{Log: log})
	deny := func(c *gin.Context) { httpserver.Fail(c, apierror.New(apierror.Forbidden, "admins only")) }
	httpapi.ReconcileRoutes(engine, reconciler{report: report}, deny)
	if code, _ := do(t, engine, http.MethodPost, "/api/v1/movie-query/admin/reconcile", ""); code != http.StatusForbidden {
		t.Errorf("admin route behind a denying check: %d, want 403", code)
	}
	if code, _ := do(t, engine, http.MethodPost, "/reconcile-cron", ""); code != http.StatusOK {
		t.Errorf("cron route: %d, want 200 (no admin check)", code)
	}

	// Dapr asks whether the app listens on the binding with OPTIONS: any 2xx
	// or 405 means yes.
	engine = httpserver.NewEngine(httpserver.Options{Log: log})
	httpapi.ReconcileRoutes(engine, reconciler{})
	if code, _ := do(t, engine, http.MethodOptions, "/reconcile-cron", ""); code/100 != 2 && code != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS /reconcile-cron = %d, want 2xx or 405", code)
	}
}
