package config_test

import (
	"bytes"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"tenflix/platform/config"
)

func envOf(m map[string]string) config.Env {
	return func(k string) string { return m[k] }
}

func TestGettersReturnTheValueOrTheDefault(t *testing.T) {
	r := config.NewReader(envOf(map[string]string{
		"NAME": "x", "WORKERS": "8", "APP_PORT": "7101", "TIMEOUT": "90s", "TTL": "30d",
		"ORIGINS": " https://a.example , ,http://b.example,", "EMPTY_LIST": " , ",
	}))
	if got := r.String("NAME", "d"); got != "x" {
		t.Errorf("String = %q", got)
	}
	if got := r.String("UNSET", "d"); got != "d" {
		t.Errorf("String unset = %q", got)
	}
	if got := r.Int("WORKERS", 1, 1, 64); got != 8 {
		t.Errorf("Int = %d", got)
	}
	if got := r.Int("UNSET", 3, 1, 64); got != 3 {
		t.Errorf("Int unset = %d", got)
	}
	if got := r.Port("APP_PORT", 1); got != 7101 {
		t.Errorf("Port = %d", got)
	}
	if got := r.Port("UNSET", 3500); got != 3500 {
		t.Errorf("Port unset = %d", got)
	}
	if got := r.Duration("TIMEOUT", time.Second, 1, math.MaxInt64); got != 90*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if got := r.Duration("TTL", time.Hour, time.Minute, 365*24*time.Hour); got != 30*24*time.Hour {
		t.Errorf("Duration in days = %v", got)
	}
	if got := r.Duration("UNSET", time.Hour, 1, math.MaxInt64); got != time.Hour {
		t.Errorf("Duration unset = %v", got)
	}
	if got := r.List("ORIGINS", nil); !reflect.DeepEqual(got, []string{"https://a.example", "http://b.example"}) {
		t.Errorf("List = %q", got)
	}
	if got := r.List("EMPTY_LIST", []string{"d"}); got != nil {
		t.Errorf("List of nothing but commas = %q, want none", got)
	}
	if got := r.List("UNSET", []string{"d"}); !reflect.DeepEqual(got, []string{"d"}) {
		t.Errorf("List unset = %q", got)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestListDoesNotShareItsDefault(t *testing.T) {
	def := []string{"a"}
	config.NewReader(envOf(nil)).List("UNSET", def)[0] = "changed"
	if def[0] != "a" {
		t.Fatal("the caller's default changed")
	}
}

func TestMalformedValuesAreNamedAndReturnTheDefault(t *testing.T) {
	for _, tt := range []struct {
		value   string
		get     func(*config.Reader) any
		def     any
		wantErr string
	}{
		{"x", func(r *config.Reader) any { return r.Port("V", 7101) }, 7101,
			`V must be a port number (1-65535), got "x"`},
		{"0", func(r *config.Reader) any { return r.Port("V", 7101) }, 7101, "V must be a port number"},
		{"70000", func(r *config.Reader) any { return r.Port("V", 7101) }, 7101, "V must be a port number"},
		{"1MiB", func(r *config.Reader) any { return r.Int("V", 5, 1, math.MaxInt) }, 5,
			`V must be a positive whole number, got "1MiB"`},
		{"0", func(r *config.Reader) any { return r.Int("V", 5, 1, math.MaxInt) }, 5, "V must be a positive whole number"},
		{"-1", func(r *config.Reader) any { return r.Int("V", 5, 0, math.MaxInt) }, 5, "V must be a whole number of at least 0"},
		{"2000", func(r *config.Reader) any { return r.Int("V", 5, 1, 1024) }, 5,
			`V must be a whole number from 1 to 1024, got "2000"`},
		{"30", func(r *config.Reader) any { return r.Duration("V", time.Second, 1, math.MaxInt64) }, time.Second,
			`V must be a positive duration (like 30s, 15m or 30d), got "30"`},
		{"0s", func(r *config.Reader) any { return r.Duration("V", time.Second, 1, math.MaxInt64) }, time.Second, "V must be a positive duration"},
		{"48h", func(r *config.Reader) any { return r.Duration("V", time.Hour, time.Minute, 24*time.Hour) }, time.Hour,
			"V must be a duration from 1m0s to 24h0m0s"},
		{"-1d", func(r *config.Reader) any { return r.Duration("V", time.Hour, 0, math.MaxInt64) }, time.Hour,
			"V must be a duration of at least 0s"},
		{"99999999999d", func(r *config.Reader) any { return r.Duration("V", time.Hour, 0, math.MaxInt64) }, time.Hour, "V must be a duration"},
	} {
		t.Run(tt.value+" "+tt.wantErr, func(t *testing.T) {
			r := config.NewReader(envOf(map[string]string{"V": tt.value}))
			if got := tt.get(r); got != tt.def {
				t.Errorf("got %v, want the default %v", got, tt.def)
			}
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %s", err, tt.wantErr)
			}
		})
	}
}

func TestErrReportsEveryProblemAtOnce(t *testing.T) {
	r := config.NewReader(envOf(map[string]string{"APP_PORT": "http", "HASH_WAIT": "soon"}))
	r.Required("APP_API_TOKEN")
	r.Port("APP_PORT", 7101)
	r.Duration("HASH_WAIT", time.Second, time.Millisecond, time.Minute)
	r.Check(true, "never reported")
	r.Check(false, "%s must be longer than %s", "REFRESH_TOKEN_TTL", "ACCESS_TOKEN_TTL")
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	want := `config: APP_API_TOKEN is required; APP_PORT must be a port number (1-65535), got "http"; ` +
		`HASH_WAIT must be a duration from 1ms to 1m0s (like 30s, 15m or 30d), got "soon"; ` +
		`REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL`
	if err.Error() != want {
		t.Fatalf("err =\n%s\nwant\n%s", err, want)
	}
}

type settings struct {
	Token    string
	Password string
	DBURL    string
	Issuer   string
}

func (s settings) LogValue() slog.Value {
	return slog.GroupValue(
		config.Secret("token", s.Token), config.Secret("password", s.Password),
		config.URL("db_url", s.DBURL), config.URL("issuer", s.Issuer),
	)
}

func TestLogValueHelpersMaskSecrets(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    settings
		want []string
	}{
		{"set", settings{Token: "tok-123", Password: "hunter2", DBURL: "postgres://app:hunter2@db:5432/app?sslmode=disable", Issuer: "http://127.0.0.1:8080"},
			[]string{`"token_set":true`, `"password_set":true`, `"db_url":"postgres://app:xxxxx@db:5432/app?sslmode=xxxxx"`, `"issuer":"http://127.0.0.1:8080"`}},
		{"unset", settings{},
			[]string{`"token_set":false`, `"password_set":false`, `"db_url":""`, `"issuer":""`}},
		{"unparsable URL", settings{DBURL: "postgres://app:hunter2@db:5432/%zz"},
			[]string{`"db_url":"(not a URL)"`}},
		{"key=value connection string", settings{DBURL: "host=db user=app password=hunter2"},
			[]string{`"db_url":"(not a URL)"`}},
		{"password in the query", settings{DBURL: "mongodb://db:27017/?tlsCertificateKeyFilePassword=hunter2&password=hunter2"},
			[]string{`"db_url":"mongodb://db:27017/?password=xxxxx&tlsCertificateKeyFilePassword=xxxxx"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			config.NewLogger(&buf, "test", "info").Info("starting", "config", tt.s)
			line := buf.String()
			for _, leak := range []string{"tok-123", "hunter2"} {
				if strings.Contains(line, leak) {
					t.Errorf("log leaks %q: %s", leak, line)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("log lacks %s: %s", w, line)
				}
			}
		})
	}
}

func TestLogLevelMustBeALevel(t *testing.T) {
	for v, wantErr := range map[string]bool{"": false, "debug": false, "WARN": false, "error+2": false, "verbose": true, "7": true} {
		r := config.NewReader(func(string) string { return v })
		got := r.LogLevel("LOG_LEVEL", "info")
		if err := r.Err(); (err != nil) != wantErr || (wantErr && (got != "info" || !strings.Contains(err.Error(), "LOG_LEVEL"))) {
			t.Errorf("LOG_LEVEL=%q: %q, %v", v, got, err)
		}
	}
}

func TestNewLoggerTagsTheServiceAndFiltersByLevel(t *testing.T) {
	var buf bytes.Buffer
	log := config.NewLogger(&buf, "movie-query", "warn")
	log.Info("hidden")
	log.Warn("shown")
	if l := buf.String(); strings.Contains(l, "hidden") || !strings.Contains(l, `"service":"movie-query"`) || !strings.Contains(l, "shown") {
		t.Fatalf("log: %s", l)
	}
}
