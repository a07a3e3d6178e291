package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tenflix/platform/config"
	"tenflix/platform/logtest"
	"tenflix/platform/pgdb/pgtest"
	"tenflix/platform/service"
	"tenflix/platform/sidecar/sidecartest"
	"tenflix/services/payment/internal/midtrans/midtranstest"
	"tenflix/services/payment/internal/statestore/statestoretest"
)

func envOf(m map[string]string) config.Env { return func(k string) string { return m[k] } }

func TestLoadSettings(t *testing.T) {
	defaults := settings{
		Settings:   service.Settings{Port: 7106, DaprHTTPPort: 3500, DaprGRPCPort: 50001, AppAPIToken: "at", SecretStore: "secretstore", LogLevel: "info"},
		StateStore: "payment-state", MidtransEnv: "sandbox", PaymentExpiry: 30 * time.Minute, MidtransTimeout: 5 * time.Second}
	all := settings{
		Settings:   service.Settings{Port: 8000, DaprHTTPPort: 3600, DaprGRPCPort: 3700, DaprAPIToken: "dt", AppAPIToken: "at", SecretStore: "ss", LogLevel: "debug"},
		StateStore: "ps", MidtransEnv: "production", MidtransAPIURL: "http://127.0.0.1:8090",
		NotificationURL: "https://a.example/n,https://b.example/n", PaymentExpiry: 2 * time.Hour,
		MidtransTimeout: 3 * time.Second}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    settings
		wantErr string
	}{
		{"defaults", map[string]string{"APP_API_TOKEN": "at"}, defaults, ""},
		{"all set", map[string]string{"APP_PORT": "8000", "DAPR_HTTP_PORT": "3600", "DAPR_GRPC_PORT": "3700",
			"DAPR_API_TOKEN": "dt", "APP_API_TOKEN": "at", "STATE_STORE": "ps", "SECRET_STORE": "ss",
			"MIDTRANS_ENV": "production", "MIDTRANS_API_URL": "http://127.0.0.1:8090",
			"NOTIFICATION_URL": "https://a.example/n,https://b.example/n", "PAYMENT_EXPIRY": "2h",
			"MIDTRANS_TIMEOUT": "3s", "LOG_LEVEL": "debug"}, all, ""},
		{"no app token", map[string]string{}, settings{}, "APP_API_TOKEN is required"},
		{"unknown env", map[string]string{"APP_API_TOKEN": "at", "MIDTRANS_ENV": "staging"}, settings{}, "MIDTRANS_ENV"},
		{"api url not a URL", map[string]string{"APP_API_TOKEN": "at", "MIDTRANS_API_URL": "127.0.0.1:8090"}, settings{}, "MIDTRANS_API_URL"},
		{"api url with credentials", map[string]string{"APP_API_TOKEN": "at", "MIDTRANS_API_URL": "http://k:@127.0.0.1"}, settings{}, "MIDTRANS_API_URL"},
		{"four notification urls", map[string]string{"APP_API_TOKEN": "at", "NOTIFICATION_URL": "http://a,http://b,http://c,http://d"}, settings{}, "NOTIFICATION_URL"},
		{"notification url relative", map[string]string{"APP_API_TOKEN": "at", "NOTIFICATION_URL": "/n"}, settings{}, "NOTIFICATION_URL"},
		{"expiry in seconds", map[string]string{"APP_API_TOKEN": "at", "PAYMENT_EXPIRY": "90s"}, settings{}, "PAYMENT_EXPIRY"},
		{"expiry too short", map[string]string{"APP_API_TOKEN": "at", "PAYMENT_EXPIRY": "30s"}, settings{}, "PAYMENT_EXPIRY"},
		{"timeout past Midtrans' own", map[string]string{"APP_API_TOKEN": "at", "MIDTRANS_TIMEOUT": "15s"}, settings{}, "MIDTRANS_TIMEOUT"},
		{"bad level", map[string]string{"APP_API_TOKEN": "at", "LOG_LEVEL": "loud"}, settings{}, "LOG_LEVEL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadSettings(envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("loadSettings = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

const serverKey = "SB-Mid-server-main-test-key"

// running is one run() against stand-ins: the sidecar's secrets (gRPC),
// its state API (HTTP), a fake Midtrans, and a real PostgreSQL database in
// the shape daprd made.
type running struct {
	t        *testing.T
	base     string
	logs     *logtest.Buffer
	midtrans *midtranstest.Server
	state    *statestoretest.Store
	dsn      string
	stop     func() error
}

func startService(t *testing.T, secrets map[string]string) *running {
	t.Helper()
	s := &running{t: t, logs: &logtest.Buffer{}, midtrans: midtranstest.New(t, serverKey), state: statestoretest.New(t),
		dsn: pgtest.NewDatabase(t, "payment_main")}
	conn, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE payment_state (key text NOT NULL PRIMARY KEY,
		value jsonb NOT NULL, isbinary boolean NOT NULL, insertdate timestamptz NOT NULL DEFAULT now(),
		updatedate timestamptz NULL, expiredate timestamptz NULL)`); err != nil {
		t.Fatal(err)
	}
	if secrets == nil {
		secrets = map[string]string{"midtrans-server-key": serverKey, "payment-db": s.dsn}
	}
	sc := sidecartest.New(t, secrets)
	port := freePort(t)
	env := map[string]string{"APP_PORT": port, "APP_API_TOKEN": "app-token", "DAPR_HTTP_PORT": s.state.Port,
		"DAPR_GRPC_PORT": sc.GRPCPort(), "MIDTRANS_API_URL": s.midtrans.URL, "LOG_LEVEL": "debug",
		"NOTIFICATION_URL": "https://tenflix.example/api/v1/orders/notifications"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), s.logs) }()
	s.base = "http://127.0.0.1:" + port
	s.stop = func() error { cancel(); return <-done }
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case err := <-done:
			s.stop = func() error { return err }
			return s
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not serving after 20s\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *running) do(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("dapr-api-token", "app-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// TestTheWholeJourneyNeverLogsTheServerKey runs the service as main runs
// it, at debug level: an order is paid, notified, refunded; the migration
// indexed the state table; and no log line holds the server key.
func TestTheWholeJourneyNeverLogsTheServerKey(t *testing.T) {
	s := startService(t, nil)
	code, p := s.do("POST", "/internal/payments", `{"orderId":"o-1","userId":"u-1","amount":49000,
		"item":{"id":"plan-1","name":"Monthly","price":49000},"customer":{"name":"Ana","email":"ana@example.com"}}`)
	if code != 201 || p["status"] != "PENDING" || p["snapToken"] == "" {
		t.Fatalf("create: %d %v\n%s", code, p, s.logs)
	}
	if tx, _ := s.midtrans.Transaction("o-1"); tx.Notification != "https://tenflix.example/api/v1/orders/notifications" {
		t.Fatalf("notification URL %q", tx.Notification)
	}
	s.midtrans.Pay(t, "o-1", "credit_card", "capture", "accept")
	if code, m := s.do("POST", "/internal/notifications", string(s.midtrans.Notification(t, "o-1"))); code != 200 || m["status"] != "ok" {
		t.Fatalf("notify: %d %v", code, m)
	}
	if code, p = s.do("GET", "/internal/payments/o-1", ""); code != 200 || p["status"] != "PAID" {
		t.Fatalf("get: %d %v", code, p)
	}
	event := `{"id":"e-1","type":"tenflix.order.refund-requested.v1","topic":"orders","data":{"id":"o-1","status":"PAID","refundRequested":true}}`
	if code, m := s.do("POST", "/events/order-refund-requested", event); code != 200 || m["status"] != "SUCCESS" {
		t.Fatalf("refund event: %d %v\n%s", code, m, s.logs)
	}
	if code, p = s.do("POST", "/internal/payments/o-1/sync", ""); code != 200 || p["status"] != "REFUNDED" || p["version"] != "4" {
		t.Fatalf("sync: %d %v", code, p)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var indexes int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_indexes WHERE tablename = 'payment_state' AND indexname = 'payment_transaction_id_unique'`).Scan(&indexes); err != nil || indexes != 1 {
		t.Fatalf("index: %d %v", indexes, err)
	}

	out := s.logs.String()
	if !strings.Contains(out, `"component":"midtrans-go"`) {
		t.Fatalf("the SDK logged nothing, so this test proves nothing:\n%s", out)
	}
	for _, secret := range []string{serverKey, base64.StdEncoding.EncodeToString([]byte(serverKey + ":"))} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, secret) {
				t.Fatalf("a log line holds the server key: %s", line)
			}
		}
	}
}

func TestAMissingServerKeyStopsTheStart(t *testing.T) {
	s := startService(t, map[string]string{"payment-db": "postgres://127.0.0.1:1/x"})
	err := s.stop()
	if err == nil || !strings.Contains(err.Error(), "midtrans-server-key") {
		t.Fatalf("run = %v", err)
	}
}
