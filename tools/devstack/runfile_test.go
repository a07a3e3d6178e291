package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the repository this module lives in (tools/devstack).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "dapr", "dapr.yaml")); err != nil {
		t.Fatalf("not inside the repository: %v", err)
	}
	return root
}

// The real table: what `make run` starts.
func TestLoadRunFile_RepoTable(t *testing.T) {
	root := repoRoot(t)
	apps, err := loadRunFile(filepath.Join(root, "dapr", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]app{}
	for _, a := range apps {
		byID[a.ID] = a
		// Every app shares the common settings.
		wantPaths := []string{filepath.Join(root, "components"), filepath.Join(root, "dapr", "resiliency")}
		if !slices.Equal(a.ResourcesPaths, wantPaths) {
			t.Errorf("%s: resources paths %v, want %v", a.ID, a.ResourcesPaths, wantPaths)
		}
		for _, p := range append(a.ResourcesPaths, a.ConfigFile) {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s: %v", a.ID, err)
			}
		}
		if a.ConfigFile != filepath.Join(root, "dapr", "config", a.ID+".yaml") || a.AppProtocol != "http" ||
			a.AppChannelAddress != "127.0.0.1" || a.LogLevel != "info" || a.Env["LOG_LEVEL"] != "info" {
			t.Errorf("%s: common settings not applied: %+v", a.ID, a)
		}
		if a.Dir != filepath.Join(root, "services", a.ID) {
			t.Errorf("%s: dir %s, want services/<app-id>", a.ID, a.Dir)
		}
		if a.Command[0] != filepath.Join(root, "bin", a.ID) {
			t.Errorf("%s: command %s, want bin/<app-id>", a.ID, a.Command[0])
		}
	}

	tests := []struct {
		id                                    string
		appPort, http, grpc, internal, metric int
		env                                   map[string]string
	}{
		{id: "movie-command", appPort: 7101, http: 3501, grpc: 3601, internal: 3701, metric: 9101},
		{id: "movie-query", appPort: 7102, http: 3502, grpc: 3602, internal: 3702, metric: 9102,
			env: map[string]string{"MONGO_URL": "mongodb://127.0.0.1:27017", "MONGO_DATABASE": "movie_query"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			a, ok := byID[tt.id]
			if !ok {
				t.Fatalf("app %s not in dapr.yaml", tt.id)
			}
			got := [5]int{a.AppPort, a.DaprHTTPPort, a.DaprGRPCPort, a.DaprInternalGRPCPort, a.MetricsPort}
			want := [5]int{tt.appPort, tt.http, tt.grpc, tt.internal, tt.metric}
			if got != want {
				t.Errorf("ports %v, want %v", got, want)
			}
			for k, v := range tt.env {
				if a.Env[k] != v {
					t.Errorf("env %s=%q, want %q", k, a.Env[k], v)
				}
			}
		})
	}
}

func TestRunFileResolve(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means success
		check   func(t *testing.T, apps []app)
	}{
		{
			name: "app overrides common",
			yaml: `
version: 1
common:
  resourcesPath: ./res
  configFilePath: ./c.yaml
  logLevel: info
  env: {A: common, B: common}
apps:
  - appID: x
    appDirPath: ./x
    appPort: 1
    daprHTTPPort: 2
    daprGRPCPort: 3
    daprInternalGRPCPort: 4
    metricsPort: 5
    resourcesPaths: [./r1, /abs/r2]
    logLevel: debug
    appProtocol: grpc
    env: {B: app}
    command: [./bin/x, --flag]
`,
			check: func(t *testing.T, apps []app) {
				a := apps[0]
				if want := []string{filepath.Join(base, "r1"), "/abs/r2"}; !slices.Equal(a.ResourcesPaths, want) {
					t.Errorf("resources %v, want %v", a.ResourcesPaths, want)
				}
				if a.LogLevel != "debug" || a.AppProtocol != "grpc" || a.AppChannelAddress != "127.0.0.1" {
					t.Errorf("overrides: %+v", a)
				}
				if a.Env["A"] != "common" || a.Env["B"] != "app" {
					t.Errorf("env %v", a.Env)
				}
				if want := []string{filepath.Join(base, "x", "bin", "x"), "--flag"}; !slices.Equal(a.Command, want) {
					t.Errorf("command %v, want %v", a.Command, want)
				}
				if a.ConfigFile != filepath.Join(base, "c.yaml") {
					t.Errorf("config %s", a.ConfigFile)
				}
			},
		},
		{
			name: "single resourcesPath, bare command stays for PATH lookup",
			yaml: `
common: {resourcesPath: ../comp}
apps:
  - {appID: x, daprHTTPPort: 2, daprGRPCPort: 3, daprInternalGRPCPort: 4, metricsPort: 5, command: [python3, -m, http.server]}
`,
			check: func(t *testing.T, apps []app) {
				a := apps[0]
				if want := []string{filepath.Join(filepath.Dir(base), "comp")}; !slices.Equal(a.ResourcesPaths, want) {
					t.Errorf("resources %v, want %v", a.ResourcesPaths, want)
				}
				if a.Command[0] != "python3" || a.Dir != base || a.AppPort != 0 {
					t.Errorf("got %+v", a)
				}
			},
		},
		{
			name: "port clash between apps",
			yaml: `
apps:
  - {appID: x, daprHTTPPort: 2, daprGRPCPort: 3, daprInternalGRPCPort: 4, metricsPort: 5, command: [a]}
  - {appID: y, daprHTTPPort: 2, daprGRPCPort: 13, daprInternalGRPCPort: 14, metricsPort: 15, command: [a]}
`,
			wantErr: "y daprHTTPPort: port 2 already used by x daprHTTPPort",
		},
		{
			name: "clash with kafka",
			yaml: `
apps:
  - {appID: x, appPort: 9092, daprHTTPPort: 2, daprGRPCPort: 3, daprInternalGRPCPort: 4, metricsPort: 5, command: [a]}
`,
			wantErr: "port 9092 already used by infra",
		},
		{
			name: "missing port",
			yaml: `
apps:
  - {appID: x, daprHTTPPort: 2, daprGRPCPort: 3, daprInternalGRPCPort: 4, command: [a]}
`,
			wantErr: "x metricsPort: port not set",
		},
		{
			name: "duplicate app id, missing command",
			yaml: `
apps:
  - {appID: x, daprHTTPPort: 2, daprGRPCPort: 3, daprInternalGRPCPort: 4, metricsPort: 5, command: [a]}
  - {appID: x}
`,
			wantErr: `duplicate appID "x"`,
		},
		{name: "no apps", yaml: "version: 1\n", wantErr: "no apps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(base, "dapr.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			apps, err := loadRunFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, apps)
		})
	}
}

func TestDaprdArgs(t *testing.T) {
	a := app{ID: "x", AppPort: 1, DaprHTTPPort: 2, DaprGRPCPort: 3, DaprInternalGRPCPort: 4, MetricsPort: 5,
		ResourcesPaths: []string{"/r1", "/r2"}, ConfigFile: "/c.yaml", AppProtocol: "http",
		AppChannelAddress: "127.0.0.1", LogLevel: "info"}
	set := sidecarSettings{daprd: "daprd", sentryAddr: "127.0.0.1:3900"}
	got := strings.Join(daprdArgs(set, a), " ")
	want := "daprd --app-id x --app-protocol http --app-channel-address 127.0.0.1 --dapr-http-port 2 " +
		"--dapr-grpc-port 3 --dapr-internal-grpc-port 4 --dapr-listen-addresses 127.0.0.1 " +
		"--dapr-internal-grpc-listen-address 127.0.0.1 --enable-mtls --sentry-address 127.0.0.1:3900 " +
		"--log-level info --enable-metrics=false --app-port 1 --resources-path /r1 --resources-path /r2 --config /c.yaml"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	set.metrics = true
	if got := strings.Join(daprdArgs(set, a), " "); !strings.Contains(got, "--metrics-port 5 ") || strings.Contains(got, "enable-metrics") {
		t.Errorf("metrics on: %s", got)
	}
}
