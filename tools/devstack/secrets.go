package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// generated replaces a template placeholder with a fresh secret, so that no
// usable secret is ever committed: "generate:password" (24 random bytes,
// base64url) and "generate:rsa-key" (an RSA 2048 private key, PKCS#8 PEM).
// Other values are returned as they are.
func generated(s string) (string, error) {
	switch s {
	case "generate:password":
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "generate:rsa-key":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
	default:
		return s, nil
	}
}

// writeSecrets creates dst from the template src, and later adds the
// template's new top-level keys to it; values already in dst are the
// developer's and are kept. In every value it writes, a postgres URL gets
// suffix appended to its database name, so that a test run can have databases
// of its own. overrides replace template and existing values alike (a real
// Midtrans sandbox key from the environment: see midtrans.go).
func writeSecrets(src, dst, suffix string, overrides map[string]string) error {
	template, err := readSecrets(src)
	if err != nil {
		return fmt.Errorf("secrets template: %w", err)
	}
	current := map[string]any{}
	_, statErr := os.Stat(dst)
	exists := statErr == nil
	if exists {
		if current, err = readSecrets(dst); err != nil {
			return err
		}
	}
	var added []string
	for k, v := range template {
		if _, ok := current[k]; ok {
			continue
		}
		v, err := mapStrings(v, func(s string) (string, error) {
			if isPostgresURL(s) && suffix != "" {
				return withDBSuffix(s, suffix)
			}
			return generated(s)
		})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", src, k, err)
		}
		current[k] = v
		added = append(added, k)
	}
	var overridden []string
	for k, v := range overrides {
		if current[k] != v {
			current[k] = v
			overridden = append(overridden, k)
		}
	}
	if len(added) == 0 && len(overridden) == 0 {
		return nil
	}
	slices.Sort(added)
	slices.Sort(overridden)
	out, err := json.MarshalIndent(current, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case len(overridden) > 0:
		slog.Info("set secrets from the environment", "file", dst, "keys", overridden, "added", added)
	case exists:
		slog.Info("added new secrets from the template", "file", dst, "keys", added, "db_suffix", suffix)
	default:
		slog.Info("wrote secrets", "file", dst, "from", src, "db_suffix", suffix)
	}
	return os.WriteFile(dst, append(out, '\n'), 0o600)
}

func readSecrets(file string) (map[string]any, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var secrets map[string]any
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	return secrets, nil
}

// postgresURLs returns every postgres URL among the values of a secrets file.
func postgresURLs(file string) ([]string, error) {
	secrets, err := readSecrets(file)
	if err != nil {
		return nil, err
	}
	var urls []string
	_, _ = mapStrings(secrets, func(s string) (string, error) {
		if isPostgresURL(s) {
			urls = append(urls, s)
		}
		return s, nil
	})
	slices.Sort(urls)
	return slices.Compact(urls), nil
}

// mapStrings applies fn to every string value of decoded JSON; secrets may be
// nested (the secret store's nestedSeparator).
func mapStrings(v any, fn func(string) (string, error)) (any, error) {
	switch v := v.(type) {
	case string:
		return fn(v)
	case map[string]any:
		for k, x := range v {
			y, err := mapStrings(x, fn)
			if err != nil {
				return nil, err
			}
			v[k] = y
		}
	case []any:
		for i, x := range v {
			y, err := mapStrings(x, fn)
			if err != nil {
				return nil, err
			}
			v[i] = y
		}
	}
	return v, nil
}
