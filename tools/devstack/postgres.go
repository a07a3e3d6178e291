package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func withDBSuffix(raw, suffix string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse postgres URL: %w", err) // no raw: it may hold a password
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", fmt.Errorf("postgres URL for %s has no database name", u.Host)
	}
	u.Path = "/" + db + suffix
	return u.String(), nil
}

// ensurePostgres makes sure the server of every URL answers and every database
// exists. A local cluster that is down is started once (machines here have no
// systemd to do it).
func ensurePostgres(ctx context.Context, urls []string) error {
	if len(urls) == 0 {
		urls = []string{defaultPostgresURL}
	}
	startTried := false
	for _, raw := range urls {
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			return fmt.Errorf("parse postgres URL: %w", err)
		}
		db := cfg.Database
		admin := cfg.Copy()
		admin.Database = "postgres"
		admin.ConnectTimeout = 3 * time.Second
		where := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)

		conn, err := pgx.ConnectConfig(ctx, admin)
		if err != nil && !startTried && isLocalHost(cfg.Host) {
			startTried = true
			slog.Warn("postgres not answering, starting the local cluster", "addr", where, "err", err)
			if startErr := startLocalPostgres(ctx); startErr != nil {
				slog.Warn("could not start postgres", "err", startErr)
			}
			conn, err = connectRetry(ctx, admin, 30*time.Second)
		}
		if err != nil {
			return fmt.Errorf("postgres at %s: %w", where, err)
		}
		err = createDatabase(ctx, conn, db)
		conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("postgres at %s: %w", where, err)
		}
	}
	return nil
}

func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: a parallel run won
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	slog.Info("created database", "database", name)
	return nil
}

func connectRetry(ctx context.Context, cfg *pgx.ConnConfig, timeout time.Duration) (*pgx.Conn, error) {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil || time.Now().After(deadline) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startLocalPostgres starts the Debian cluster (the newest version installed).
func startLocalPostgres(ctx context.Context) error {
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("no cluster in /etc/postgresql: install postgresql")
	}
	version := entries[len(entries)-1].Name()
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s main start: %w: %s", version, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func isLocalHost(h string) bool {
	return h == "127.0.0.1" || h == "localhost" || h == "::1" || strings.HasPrefix(h, "/")
}

// databases is `devstack databases`: the database of every postgres URL in
// the secrets template and, with all, every database on the local server
// named after one of them with a suffix (test and e2e runs add _<suffix>).
// make reset drops what it prints.
func databases(ctx context.Context, o options, all bool, stdout io.Writer) error {
	template, err := readSecrets(filepath.Join(o.root, "dapr", "secrets.local.json"))
	if err != nil {
		return err
	}
	var names []string
	_, _ = mapStrings(template, func(s string) (string, error) {
		if cfg, err := pgx.ParseConfig(s); err == nil && isPostgresURL(s) {
			names = append(names, cfg.Database)
		}
		return s, nil
	})
	slices.Sort(names)
	names = slices.Compact(names)
	if !all {
		for _, n := range names {
			fmt.Fprintln(stdout, n)
		}
		return nil
	}
	cfg, err := pgx.ParseConfig(defaultPostgresURL)
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	for _, n := range names {
		rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_') ORDER BY 1`, n)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, db := range found {
			fmt.Fprintln(stdout, db)
		}
	}
	return nil
}
