package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// dapr/dapr.yaml is the one table of apps and ports: everything else that
// names an app must agree with it. A new service is one row there plus the
// places these tests name (docs/adding-a-service.md).
func TestEverythingAgreesWithTheRunFile(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := loadRunFile(filepath.Join(root, "dapr", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("go.work uses every service module and no other", func(t *testing.T) {
		var used []string
		for _, m := range regexp.MustCompile(`(?m)^\s*\./services/([^\s/]+)\s*$`).FindAllStringSubmatch(read("go.work"), -1) {
			used = append(used, m[1])
		}
		entries, _ := os.ReadDir(filepath.Join(root, "services"))
		var dirs []string
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		ids := appIDs(apps)
		for _, list := range [][]string{used, dirs, ids} {
			slices.Sort(list)
		}
		if !slices.Equal(used, ids) || !slices.Equal(dirs, ids) {
			t.Errorf("go.work uses %v, services/ holds %v, dapr/dapr.yaml has %v", used, dirs, ids)
		}
	})

	t.Run("docker-compose.yml runs every app with its sidecar, config and tokens", func(t *testing.T) {
		var compose struct {
			Services map[string]struct {
				Command     []string          `yaml:"command"`
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal([]byte(read("docker-compose.yml")), &compose); err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			app, ok := compose.Services[a.ID]
			sidecar, ok2 := compose.Services[a.ID+"-dapr"]
			if !ok || !ok2 {
				t.Errorf("%s: services %s and %s-dapr are not both in docker-compose.yml", a.ID, a.ID, a.ID)
				continue
			}
			cmd := strings.Join(sidecar.Command, " ")
			for _, want := range []string{
				"--app-id " + a.ID, "--app-port " + strconv.Itoa(a.AppPort),
				"--dapr-http-port " + strconv.Itoa(a.DaprHTTPPort), "--enable-mtls",
				"--config /work/config/" + a.ID + ".yaml",
			} {
				if !strings.Contains(cmd+" ", want+" ") {
					t.Errorf("%s-dapr: command lacks %q: %s", a.ID, want, cmd)
				}
			}
			for _, kind := range []string{"DAPR_API_TOKEN", "APP_API_TOKEN"} {
				want := "${" + tokenVar(a.ID, kind) + ":?"
				if !strings.HasPrefix(app.Environment[kind], want) || !strings.HasPrefix(sidecar.Environment[kind], want) {
					t.Errorf("%s: %s must be required from %s in the app and its sidecar (app %q, sidecar %q)",
						a.ID, kind, tokenVar(a.ID, kind), app.Environment[kind], sidecar.Environment[kind])
				}
			}
		}
	})

	t.Run("every app has its own sidecar config, and its secrets are in both templates", func(t *testing.T) {
		local, err := readSecrets(filepath.Join(root, "dapr", "secrets.local.json"))
		if err != nil {
			t.Fatal(err)
		}
		compose, err := readSecrets(filepath.Join(root, "dapr", "secrets.compose.json"))
		if err != nil {
			t.Fatal(err)
		}
		var common string
		for _, a := range apps {
			if a.ConfigFile != filepath.Join(root, "dapr", "config", a.ID+".yaml") {
				t.Errorf("%s: configFilePath %s, want dapr/config/%s.yaml", a.ID, a.ConfigFile, a.ID)
				continue
			}
			cfg := sidecarConfig(t, a.ConfigFile)
			if cfg.Metadata.Name != a.ID {
				t.Errorf("%s: its config is named %q", a.ID, cfg.Metadata.Name)
			}
			if cfg.Spec.AccessControl.DefaultAction != "deny" {
				t.Errorf("%s: accessControl.defaultAction %q, want deny", a.ID, cfg.Spec.AccessControl.DefaultAction)
			}
			for _, scope := range cfg.Spec.Secrets.Scopes {
				if scope.DefaultAccess != "deny" {
					t.Errorf("%s: secret scope of %s allows by default", a.ID, scope.StoreName)
				}
				for _, name := range scope.AllowedSecrets {
					_, inLocal := local[name]
					_, inCompose := compose[name]
					optional := strings.Contains(name, "previous") // a retired key exists only during a rotation
					if !optional && (!inLocal || !inCompose) {
						t.Errorf("%s may read secret %q, which is missing from secrets.local.json (%v) or secrets.compose.json (%v)",
							a.ID, name, inLocal, inCompose)
					}
				}
			}
			// Everything but accessControl and secrets is the same in every file.
			shared := fmt.Sprint(cfg.Spec.Tracing, cfg.Spec.Metric, cfg.Spec.NameResolution)
			if common == "" {
				common = shared
			} else if shared != common {
				t.Errorf("%s: tracing/metric/nameResolution differ from the other apps' configs: %s vs %s", a.ID, shared, common)
			}
		}
	})

	t.Run("the README's table lists every app with its ports", func(t *testing.T) {
		readme := read("README.md")
		for _, a := range apps {
			row := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(a.ID) + ` \|.*$`).FindString(readme)
			if row == "" || !strings.Contains(row, strconv.Itoa(a.AppPort)) || !strings.Contains(row, strconv.Itoa(a.DaprHTTPPort)) {
				t.Errorf("README.md: no row for %s with its app port %d and sidecar port %d (got %q)", a.ID, a.AppPort, a.DaprHTTPPort, row)
			}
		}
	})
}

type daprConfig struct {
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Tracing        map[string]any `yaml:"tracing"`
		Metric         map[string]any `yaml:"metric"`
		NameResolution map[string]any `yaml:"nameResolution"`
		AccessControl  struct {
			DefaultAction string `yaml:"defaultAction"`
		} `yaml:"accessControl"`
		Secrets struct {
			Scopes []struct {
				StoreName      string   `yaml:"storeName"`
				DefaultAccess  string   `yaml:"defaultAccess"`
				AllowedSecrets []string `yaml:"allowedSecrets"`
			} `yaml:"scopes"`
		} `yaml:"secrets"`
	} `yaml:"spec"`
}

func sidecarConfig(t *testing.T, path string) daprConfig {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg daprConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}
