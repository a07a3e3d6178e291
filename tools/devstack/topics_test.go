package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The real components: these topics must exist before the sidecars start.
func TestDeriveTopics_RepoComponents(t *testing.T) {
	t.Setenv("TENFLIX_EXTRA_TOPICS", "")
	topics, err := deriveTopics(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"catalog",                           // catalog-state outboxPublishTopic
		"defaultmovie-commandcatalogoutbox", // its internal outbox topic, app movie-command
		"catalog-deadletter",                // movie-query's subscription
	} {
		if !slices.Contains(topics, want) {
			t.Errorf("topic %q missing from %v", want, topics)
		}
	}
	if !slices.IsSorted(topics) || len(slices.Compact(slices.Clone(topics))) != len(topics) {
		t.Errorf("topics not sorted and unique: %v", topics)
	}
}

func TestTopicsFromComponents(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		allApps []string
		want    []string
	}{
		{
			name: "subscription topic and dead letter",
			files: map[string]string{"sub.yaml": `
apiVersion: dapr.io/v2alpha1
kind: Subscription
spec: {pubsubname: pubsub, topic: orders, deadLetterTopic: orders-dlq}
`},
			want: []string{"orders", "orders-dlq"},
		},
		{
			name: "outbox with scopes, several documents in one file",
			files: map[string]string{"state.yaml": `
kind: Component
spec:
  type: state.postgresql
  metadata:
    - {name: outboxPublishTopic, value: payments}
scopes: [pay, billing]
---
kind: Component
spec:
  type: pubsub.kafka
  metadata:
    - {name: outboxPublishTopic, value: not-a-state-store}
`},
			want: []string{"defaultbillingpaymentsoutbox", "defaultpaypaymentsoutbox", "payments"},
		},
		{
			name: "outbox without scopes: every app of the run file",
			files: map[string]string{"state.yml": `
kind: Component
spec:
  type: state.mongodb
  metadata: [{name: outboxPublishTopic, value: t}]
`},
			allApps: []string{"a", "b"},
			want:    []string{"defaultatoutbox", "defaultbtoutbox", "t"},
		},
		{
			name: "state store without outbox",
			files: map[string]string{"s.yaml": `
kind: Component
spec: {type: state.redis, metadata: [{name: redisHost, value: x}]}
`},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := topicsFromComponents(dir, tt.allApps)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeriveTopics_ExtraFromEnv(t *testing.T) {
	t.Setenv("TENFLIX_EXTRA_TOPICS", " zz-extra ,catalog,, aa-extra")
	topics, err := deriveTopics(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aa-extra", "zz-extra"} {
		if !slices.Contains(topics, want) {
			t.Errorf("extra topic %q missing from %v", want, topics)
		}
	}
	if n := len(slices.Compact(slices.Clone(topics))); n != len(topics) {
		t.Errorf("duplicates in %v", topics)
	}
}
