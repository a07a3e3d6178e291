package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// daprNamespace is the namespace a self-hosted sidecar runs in; Dapr's outbox
// names its internal topic <namespace><app-id><topic>outbox.
const daprNamespace = "default"

// resource is the part of a Dapr resource file (Component, Subscription, ...)
// that topic derivation reads.
type resource struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Type            string `yaml:"type"`            // Component
		Topic           string `yaml:"topic"`           // Subscription
		DeadLetterTopic string `yaml:"deadLetterTopic"` // Subscription
		Metadata        []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"metadata"` // Component
	} `yaml:"spec"`
	Scopes []string `yaml:"scopes"`
}

// deriveTopics lists the Kafka topics the stack uses, so that kfake can create
// them up front: topics kfake auto-creates at run time are forgotten if it
// does not shut down cleanly (see dapr-notes.md).
func deriveTopics(root string) ([]string, error) {
	appIDs, err := runFileAppIDs(filepath.Join(root, "dapr", "dapr.yaml"))
	if err != nil {
		return nil, err
	}
	topics, err := topicsFromComponents(filepath.Join(root, "components"), appIDs)
	if err != nil {
		return nil, err
	}
	for t := range strings.SplitSeq(os.Getenv("TENFLIX_EXTRA_TOPICS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			topics = append(topics, t)
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil
}

// topicsFromComponents reads every *.yaml in dir. allApps are the app ids a
// component without scopes is loaded into (Dapr loads it into every sidecar).
func topicsFromComponents(dir string, allApps []string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	yml, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	files = append(files, yml...)
	if len(files) == 0 {
		return nil, fmt.Errorf("no resource files in %s", dir)
	}

	var topics []string
	for _, file := range files {
		docs, err := readResources(file)
		if err != nil {
			return nil, err
		}
		for _, r := range docs {
			switch {
			case r.Kind == "Subscription":
				topics = appendNonEmpty(topics, r.Spec.Topic, r.Spec.DeadLetterTopic)
			case r.Kind == "Component" && strings.HasPrefix(r.Spec.Type, "state."):
				t := r.metadata("outboxPublishTopic")
				if t == "" {
					continue
				}
				topics = append(topics, t)
				apps := r.Scopes
				if len(apps) == 0 {
					apps = allApps
				}
				for _, a := range apps {
					topics = append(topics, daprNamespace+a+t+"outbox")
				}
			}
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil
}

// readResources decodes every YAML document of a file ("---" separated).
func readResources(file string) ([]resource, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []resource
	dec := yaml.NewDecoder(f)
	for {
		var r resource
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		out = append(out, r)
	}
}

func (r resource) metadata(name string) string {
	for _, m := range r.Spec.Metadata {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

// runFileAppIDs reads only the app ids of a run file: `devstack topics` should
// work even while the rest of the table is being edited.
func runFileAppIDs(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Apps []struct {
			AppID string `yaml:"appID"`
		} `yaml:"apps"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var ids []string
	for _, a := range rf.Apps {
		ids = appendNonEmpty(ids, a.AppID)
	}
	return ids, nil
}

func appendNonEmpty(list []string, s ...string) []string {
	for _, v := range s {
		if v != "" {
			list = append(list, v)
		}
	}
	return list
}
