package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// runFile is the Dapr CLI multi-app run file (dapr run -f), the subset we use.
type runFile struct {
	Version int         `yaml:"version"`
	Common  runSettings `yaml:"common"`
	Apps    []runApp    `yaml:"apps"`
}

// runSettings are the fields that common sets and each app may override.
type runSettings struct {
	ResourcesPath     string            `yaml:"resourcesPath"` // older single-path form
	ResourcesPaths    []string          `yaml:"resourcesPaths"`
	ConfigFilePath    string            `yaml:"configFilePath"`
	AppProtocol       string            `yaml:"appProtocol"`
	AppChannelAddress string            `yaml:"appChannelAddress"`
	LogLevel          string            `yaml:"logLevel"`
	Env               map[string]string `yaml:"env"`
}

type runApp struct {
	runSettings          `yaml:",inline"`
	AppID                string   `yaml:"appID"`
	AppDirPath           string   `yaml:"appDirPath"`
	AppPort              int      `yaml:"appPort"`
	DaprHTTPPort         int      `yaml:"daprHTTPPort"`
	DaprGRPCPort         int      `yaml:"daprGRPCPort"`
	DaprInternalGRPCPort int      `yaml:"daprInternalGRPCPort"`
	MetricsPort          int      `yaml:"metricsPort"`
	Command              []string `yaml:"command"`
	// The Dapr CLI's names: daprd's --max-body-size in MiB and
	// --read-buffer-size in KiB (0: daprd's 4 MiB and 4 KiB).
	DaprHTTPMaxRequestSize int `yaml:"daprHTTPMaxRequestSize"`
	DaprHTTPReadBufferSize int `yaml:"daprHTTPReadBufferSize"`
}

// app is one entry of the run file with common settings applied and every
// path made absolute: everything needed to start its sidecar and process.
type app struct {
	ID                   string
	Dir                  string
	Command              []string // Command[0] is absolute if it was a path
	AppPort              int      // 0: the app listens on nothing
	DaprHTTPPort         int
	DaprGRPCPort         int
	DaprInternalGRPCPort int
	MetricsPort          int
	MaxBodyMiB           int // daprd --max-body-size; 0: daprd's default
	ReadBufferKiB        int // daprd --read-buffer-size; 0: daprd's default
	ResourcesPaths       []string
	ConfigFile           string
	AppProtocol          string
	AppChannelAddress    string
	LogLevel             string
	Env                  map[string]string // common env, overridden by the app's
}

// loadRunFile reads a run file and resolves it; paths in it are relative to
// the file's own directory, as with the Dapr CLI.
func loadRunFile(path string) ([]app, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf runFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	apps, err := rf.resolve(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return apps, nil
}

func (rf runFile) resolve(baseDir string) ([]app, error) {
	baseDir, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, err
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	if len(rf.Apps) == 0 {
		return nil, errors.New("no apps")
	}

	var apps []app
	var errs []error
	ports := map[int]string{} // port -> who uses it, to catch clashes in the table
	usePort := func(port int, who string, required bool) {
		switch {
		case port == 0 && required:
			errs = append(errs, fmt.Errorf("%s: port not set (devstack needs fixed ports)", who))
		case port < 0 || port > 65535:
			errs = append(errs, fmt.Errorf("%s: invalid port %d", who, port))
		case port == 0:
		case ports[port] != "":
			errs = append(errs, fmt.Errorf("%s: port %d already used by %s", who, port, ports[port]))
		default:
			ports[port] = who
		}
	}
	for _, port := range infraPorts {
		ports[port] = "infra"
	}
	seen := map[string]bool{}

	for i, ra := range rf.Apps {
		if ra.AppID == "" {
			errs = append(errs, fmt.Errorf("apps[%d]: appID missing", i))
			continue
		}
		if seen[ra.AppID] {
			errs = append(errs, fmt.Errorf("apps[%d]: duplicate appID %q", i, ra.AppID))
		}
		seen[ra.AppID] = true
		if len(ra.Command) == 0 {
			errs = append(errs, fmt.Errorf("%s: command missing", ra.AppID))
			continue
		}
		s := rf.Common.overriddenBy(ra.runSettings)
		a := app{
			ID:                   ra.AppID,
			Dir:                  abs(ra.AppDirPath),
			AppPort:              ra.AppPort,
			DaprHTTPPort:         ra.DaprHTTPPort,
			DaprGRPCPort:         ra.DaprGRPCPort,
			DaprInternalGRPCPort: ra.DaprInternalGRPCPort,
			MetricsPort:          ra.MetricsPort,
			MaxBodyMiB:           ra.DaprHTTPMaxRequestSize,
			ReadBufferKiB:        ra.DaprHTTPReadBufferSize,
			ConfigFile:           abs(s.ConfigFilePath),
			AppProtocol:          cmp.Or(s.AppProtocol, "http"),
			AppChannelAddress:    cmp.Or(s.AppChannelAddress, "127.0.0.1"),
			LogLevel:             cmp.Or(s.LogLevel, "info"),
			Env:                  s.Env,
		}
		if a.Dir == "" {
			a.Dir = baseDir
		}
		for _, p := range s.paths() {
			a.ResourcesPaths = append(a.ResourcesPaths, abs(p))
		}
		a.Command = append([]string(nil), ra.Command...)
		// A command with a slash is a path relative to appDirPath; a bare name
		// (python3) is looked up on PATH when started.
		if strings.ContainsRune(a.Command[0], '/') && !filepath.IsAbs(a.Command[0]) {
			a.Command[0] = filepath.Join(a.Dir, a.Command[0])
		}
		usePort(a.AppPort, a.ID+" appPort", false)
		usePort(a.DaprHTTPPort, a.ID+" daprHTTPPort", true)
		usePort(a.DaprGRPCPort, a.ID+" daprGRPCPort", true)
		usePort(a.DaprInternalGRPCPort, a.ID+" daprInternalGRPCPort", true)
		usePort(a.MetricsPort, a.ID+" metricsPort", true)
		apps = append(apps, a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return apps, nil
}

// overriddenBy returns common settings with every field the app sets replacing
// common's; env maps are merged key by key.
func (c runSettings) overriddenBy(a runSettings) runSettings {
	out := c
	if len(a.ResourcesPaths) > 0 || a.ResourcesPath != "" {
		out.ResourcesPaths, out.ResourcesPath = a.ResourcesPaths, a.ResourcesPath
	}
	out.ConfigFilePath = cmp.Or(a.ConfigFilePath, c.ConfigFilePath)
	out.AppProtocol = cmp.Or(a.AppProtocol, c.AppProtocol)
	out.AppChannelAddress = cmp.Or(a.AppChannelAddress, c.AppChannelAddress)
	out.LogLevel = cmp.Or(a.LogLevel, c.LogLevel)
	out.Env = map[string]string{}
	maps.Copy(out.Env, c.Env)
	maps.Copy(out.Env, a.Env)
	return out
}

func (s runSettings) paths() []string {
	if len(s.ResourcesPaths) > 0 {
		return s.ResourcesPaths
	}
	if s.ResourcesPath != "" {
		return []string{s.ResourcesPath}
	}
	return nil
}
