// Package mongotest gives each integration test its own fresh database on a
// real MongoDB-protocol server (MongoDB or FerretDB), set up by the same
// migration production runs and dropped when the test ends.
//
// The server is MONGO_URL (default mongodb://127.0.0.1:27017). When it cannot
// be reached the test fails, unless TENFLIX_SKIP_INTEGRATION=1 skips it.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"tenflix/services/movie-query/internal/mongostore"
)

// DefaultURL is used when MONGO_URL is unset.
const DefaultURL = "mongodb://127.0.0.1:27017"

// URL is the server the integration tests use.
func URL() string {
	if u := os.Getenv("MONGO_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Client connects to the test server, or fails (skips, with
// TENFLIX_SKIP_INTEGRATION=1) the test when it does not answer.
func Client(tb testing.TB) *mongo.Client {
	tb.Helper()
	if os.Getenv("TENFLIX_SKIP_INTEGRATION") == "1" {
		tb.Skip("TENFLIX_SKIP_INTEGRATION=1: skipping a test that needs MongoDB/FerretDB")
	}
	// Probe once per test binary, so an absent server fails every test at
	// once instead of after one timeout each.
	if err := reachable(); err != nil {
		tb.Fatalf("integration test needs a MongoDB-protocol server (MongoDB or FerretDB) at %s: %v\n"+
			"start one, point MONGO_URL at it, or set TENFLIX_SKIP_INTEGRATION=1 to skip", URL(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(URL()))
	if err != nil {
		tb.Fatalf("connect to %s: %v", URL(), err)
	}
	tb.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client
}

var reachable = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(URL()).SetServerSelectionTimeout(5*time.Second))
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	return client.Ping(ctx, nil)
})

// NewDatabaseName returns a random database name, and drops that database
// when the test ends.
func NewDatabaseName(tb testing.TB, client *mongo.Client) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_movie_query_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Database(name).Drop(ctx); err != nil {
			tb.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// NewStore returns a store on a fresh, migrated database.
func NewStore(tb testing.TB) *mongostore.Store {
	tb.Helper()
	client := Client(tb)
	db := client.Database(NewDatabaseName(tb, client))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mongostore.New(ctx, db)
	if err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return s
}
