package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The statements daprd 1.14 runs for a state transaction on state.postgresql
// v1 (components-contrib v1.14: state/postgresql/v1/postgresql.go SetQueryFn,
// common/component/postgresql/v1 doSet / doDelete / Multi), with no TTL.
const (
	daprUpsertFirstWrite = `INSERT INTO catalog_state AS t
			(key, value, isbinary, expiredate)
		VALUES
			($1, $2, $3, NULL)
		ON CONFLICT (key)
		DO UPDATE SET
			value = excluded.value,
			isbinary = excluded.isBinary,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	daprUpsertETag = `UPDATE catalog_state
		SET
			value = $2,
			isbinary = $3,
			updatedate = CURRENT_TIMESTAMP,
			expiredate = NULL
		WHERE
			key = $1
			AND xmin = $4
			AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`
	daprDeleteETag = `DELETE FROM catalog_state WHERE key = $1 AND $2 = xmin`
)

// daprOp is one operation of a state transaction: an upsert with
// first-write (no ETag) or with the ETag read before, or a delete.
type daprOp struct {
	key, value string
	etag       uint32 // 0: first-write insert
	delete     bool
}

func create(key, value string) daprOp              { return daprOp{key: key, value: value} }
func change(key, value string, etag uint32) daprOp { return daprOp{key: key, value: value, etag: etag} }

// daprTransact runs ops the way daprd does with the outbox enabled: BEGIN
// (READ COMMITTED), one statement per operation in order, then one outbox
// marker upsert per upsert, COMMIT. pause runs before every statement, to
// shuffle racing transactions.
func daprTransact(ctx context.Context, conn *pgx.Conn, ops []daprOp, pause func()) (err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	exec := func(sql string, args ...any) error {
		pause()
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() != 1 {
			err = errors.New("no item was updated (etag mismatch)")
		}
		return err
	}
	var markers []daprOp
	for _, op := range ops {
		switch {
		case op.delete:
			err = exec(daprDeleteETag, op.key, op.etag)
		case op.etag == 0:
			err = exec(daprUpsertFirstWrite, op.key, op.value, false)
		default:
			err = exec(daprUpsertETag, op.key, op.value, false, op.etag)
		}
		if err != nil {
			return err
		}
		if !op.delete {
			markers = append(markers, create("outbox-"+uuid.NewString(), `"0"`))
		}
	}
	for _, m := range markers {
		if err := exec(daprUpsertFirstWrite, m.key, m.value, false); err != nil {
			return err
		}
	}
	pause()
	return tx.Commit(ctx)
}

func noPause() {}

// etag is what daprd returns as the ETag of a key: its row's xmin.
func etag(t testing.TB, db *DB, key string) uint32 {
	t.Helper()
	var x uint32
	if err := db.pool.QueryRow(context.Background(), `SELECT xmin FROM catalog_state WHERE key = $1`, key).Scan(&x); err != nil {
		t.Fatalf("etag of %s: %v", key, err)
	}
	return x
}

func movieDoc(id string, version int, deleted bool) string {
	return fmt.Sprintf(`{"id":%q,"name":"Heat","version":"%d","deleted":%t}`, id, version, deleted)
}

func videoDoc(id, movieID, title string, version int, deleted bool) string {
	return fmt.Sprintf(`{"id":%q,"movieId":%q,"title":%q,"version":"%d","deleted":%t}`, id, movieID, title, version, deleted)
}

// violated returns the constraint a transaction's error names, "" for none.
func violated(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
		t.Fatalf("want a foreign_key_violation, got %v", err)
	}
	return pgErr.ConstraintName
}

// orphans lists live videos whose movie is missing or deleted.
func orphans(t testing.TB, db *DB) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), `
		SELECT v.key FROM catalog_state v
		LEFT JOIN catalog_state m ON m.key = 'movie:' || (v.value->>'movieId')
		WHERE split_part(v.key, ':', 1) = 'video'
		  AND coalesce(v.value->>'deleted', 'false') <> 'true'
		  AND (m.key IS NULL OR coalesce(m.value->>'deleted', 'false') = 'true')`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

const (
	videoNeedsMovie = "catalog_video_movie_live"
	movieHasVideos  = "catalog_movie_no_live_videos"
)

func TestVideoNeedsLiveMovie(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	mustPut := func(key, value string) {
		t.Helper()
		if err := put(t, db, key, value); err != nil {
			t.Fatal(err)
		}
	}
	mustPut("movie:live", movieDoc("live", 1, false))
	mustPut("movie:gone", movieDoc("gone", 2, true))

	cases := []struct {
		name  string
		setup func(n string) // committed rows for this case, keys suffixed with n
		ops   func(n string) []daprOp
		want  string // constraint violated; "" commits
	}{{
		name: "video of a live movie",
		ops:  func(n string) []daprOp { return []daprOp{create("video:"+n, videoDoc(n, "live", "a", 1, false))} },
	}, {
		name: "video of a missing movie",
		ops:  func(n string) []daprOp { return []daprOp{create("video:"+n, videoDoc(n, "nope", "a", 1, false))} },
		want: videoNeedsMovie,
	}, {
		name: "video of a deleted movie",
		ops:  func(n string) []daprOp { return []daprOp{create("video:"+n, videoDoc(n, "gone", "a", 1, false))} },
		want: videoNeedsMovie,
	}, {
		name: "video tombstone of a deleted movie",
		ops:  func(n string) []daprOp { return []daprOp{create("video:"+n, videoDoc(n, "gone", "a", 2, true))} },
	}, {
		name: "video created with its movie, video first",
		ops: func(n string) []daprOp {
			return []daprOp{create("video:"+n, videoDoc(n, n, "a", 1, false)), create("movie:"+n, movieDoc(n, 1, false))}
		},
	}, {
		name: "video moved to a deleted movie",
		setup: func(n string) {
			mustPut("video:"+n, videoDoc(n, "live", "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{change("video:"+n, videoDoc(n, "gone", "a", 2, false), etag(t, db, "video:"+n))}
		},
		want: videoNeedsMovie,
	}, {
		name: "deleted video revived under a deleted movie",
		setup: func(n string) {
			mustPut("video:"+n, videoDoc(n, "gone", "a", 2, true))
		},
		ops: func(n string) []daprOp {
			return []daprOp{change("video:"+n, videoDoc(n, "gone", "a", 3, false), etag(t, db, "video:"+n))}
		},
		want: videoNeedsMovie,
	}, {
		name: "movie deleted while a video is live",
		setup: func(n string) {
			mustPut("movie:"+n, movieDoc(n, 1, false))
			mustPut("video:"+n, videoDoc(n, n, "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{change("movie:"+n, movieDoc(n, 2, true), etag(t, db, "movie:"+n))}
		},
		want: movieHasVideos,
	}, {
		name: "movie tombstoned before its videos",
		setup: func(n string) {
			mustPut("movie:"+n, movieDoc(n, 1, false))
			mustPut("video:"+n, videoDoc(n, n, "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{
				change("movie:"+n, movieDoc(n, 2, true), etag(t, db, "movie:"+n)),
				change("video:"+n, videoDoc(n, n, "a", 2, true), etag(t, db, "video:"+n)),
			}
		},
	}, {
		name: "movie tombstoned after its videos",
		setup: func(n string) {
			mustPut("movie:"+n, movieDoc(n, 1, false))
			mustPut("video:"+n, videoDoc(n, n, "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{
				change("video:"+n, videoDoc(n, n, "a", 2, true), etag(t, db, "video:"+n)),
				change("movie:"+n, movieDoc(n, 2, true), etag(t, db, "movie:"+n)),
			}
		},
	}, {
		name: "movie row deleted while a video is live",
		setup: func(n string) {
			mustPut("movie:"+n, movieDoc(n, 1, false))
			mustPut("video:"+n, videoDoc(n, n, "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{{key: "movie:" + n, etag: etag(t, db, "movie:"+n), delete: true}}
		},
		want: movieHasVideos,
	}, {
		name: "movie renamed, its videos edited",
		setup: func(n string) {
			mustPut("movie:"+n, movieDoc(n, 1, false))
			mustPut("video:"+n, videoDoc(n, n, "a", 1, false))
		},
		ops: func(n string) []daprOp {
			return []daprOp{
				change("movie:"+n, movieDoc(n, 2, false), etag(t, db, "movie:"+n)),
				change("video:"+n, videoDoc(n, n, "b", 2, false), etag(t, db, "video:"+n)),
			}
		},
	}}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := fmt.Sprintf("c%d", i)
			if c.setup != nil {
				c.setup(n)
			}
			err := daprTransact(ctx, conn.Conn(), c.ops(n), noPause)
			if got := violated(t, err); got != c.want {
				t.Fatalf("violated %q, want %q (%v)", got, c.want, err)
			}
		})
	}
	if o := orphans(t, db); len(o) > 0 {
		t.Fatalf("live videos of missing or deleted movies: %v", o)
	}
}

// TestDeleteMovieRacesCreateVideo races, on two connections (two
// movie-command instances, no in-process lock between them), the transaction
// of a movie's deletion (the movie and the videos read before it started,
// tombstoned in either order) against the creation of a video for it.
func TestDeleteMovieRacesCreateVideo(t *testing.T) {
	const rounds = 200
	db := newTestDB(t)
	ctx := context.Background()
	var conns [2]*pgx.Conn
	for i := range conns {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		conns[i] = c.Conn()
	}
	pause := func() { time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) }
	outcomes := map[string]int{}
	for i := range rounds {
		movie, old, added := fmt.Sprintf("m%d", i), fmt.Sprintf("old%d", i), fmt.Sprintf("new%d", i)
		if err := put(t, db, "movie:"+movie, movieDoc(movie, 1, false)); err != nil {
			t.Fatal(err)
		}
		if err := put(t, db, "video:"+old, videoDoc(old, movie, "old", 1, false)); err != nil {
			t.Fatal(err)
		}
		// What DeleteMovie reads before its transaction: the movie and its videos.
		keys, err := db.VideoKeys(ctx, movie)
		if err != nil || len(keys) != 1 {
			t.Fatalf("video keys: %v %v", keys, err)
		}
		tombstones := []daprOp{change("movie:"+movie, movieDoc(movie, 2, true), etag(t, db, "movie:"+movie))}
		for _, k := range keys {
			video := change(k, videoDoc(old, movie, "old", 2, true), etag(t, db, k))
			if i%2 == 0 {
				tombstones = append(tombstones, video)
			} else {
				tombstones = append([]daprOp{video}, tombstones...)
			}
		}

		var deleteErr, createErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			deleteErr = daprTransact(ctx, conns[0], tombstones, pause)
		})
		wg.Go(func() {
			<-start
			createErr = daprTransact(ctx, conns[1], []daprOp{
				create("video:"+added, videoDoc(added, movie, "new", 1, false)),
			}, pause)
		})
		close(start)
		wg.Wait()

		deleteViolated, createViolated := violated(t, deleteErr), violated(t, createErr)
		switch {
		case deleteErr == nil && createErr == nil:
			t.Fatalf("round %d: both committed", i)
		case deleteErr != nil && createErr != nil:
			t.Fatalf("round %d: both failed: %v; %v", i, deleteErr, createErr)
		case deleteErr != nil && deleteViolated != movieHasVideos:
			t.Fatalf("round %d: delete failed on %q: %v", i, deleteViolated, deleteErr)
		case createErr != nil && createViolated != videoNeedsMovie:
			t.Fatalf("round %d: create failed on %q: %v", i, createViolated, createErr)
		case deleteErr == nil:
			outcomes["delete won"]++
		default:
			outcomes["create won"]++
		}
		if o := orphans(t, db); len(o) > 0 {
			t.Fatalf("round %d: live videos of missing or deleted movies: %v", i, o)
		}
	}
	t.Logf("%d rounds: %v", rounds, outcomes)
}

// TestDeleteMovieAndCreateVideoInterleavings pins down the two orders the
// race test can only hit by chance: whoever takes the movie row's lock
// second waits for the first and then sees its committed result.
func TestDeleteMovieAndCreateVideoInterleavings(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	var conns [2]*pgx.Conn
	for i := range conns {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		conns[i] = c.Conn()
	}
	deleter, creator := conns[0], conns[1]
	setup := func(t *testing.T, movie string) (tombstone daprOp, video daprOp) {
		t.Helper()
		if err := put(t, db, "movie:"+movie, movieDoc(movie, 1, false)); err != nil {
			t.Fatal(err)
		}
		return change("movie:"+movie, movieDoc(movie, 2, true), etag(t, db, "movie:"+movie)),
			create("video:"+movie, videoDoc(movie, movie, "new", 1, false))
	}
	// waitBlocked waits until conn's backend waits for a lock.
	waitBlocked := func(t *testing.T, conn *pgx.Conn) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var waiting bool
			err := db.pool.QueryRow(ctx, `SELECT coalesce(wait_event_type = 'Lock', false)
				FROM pg_stat_activity WHERE pid = $1`, conn.PgConn().PID()).Scan(&waiting)
			if err != nil {
				t.Fatal(err)
			}
			if waiting {
				return
			}
		}
		t.Fatal("the second transaction never waited for the movie's lock")
	}

	t.Run("delete locks the movie first", func(t *testing.T) {
		tombstone, video := setup(t, "first-delete")
		tx, err := deleter.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, daprUpsertETag, tombstone.key, tombstone.value, false, tombstone.etag); err != nil {
			t.Fatal(err)
		}
		createErr := make(chan error, 1)
		go func() { createErr <- daprTransact(ctx, creator, []daprOp{video}, noPause) }()
		waitBlocked(t, creator)
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := <-createErr; violated(t, err) != videoNeedsMovie {
			t.Fatalf("create after the delete committed: %v", err)
		}
	})

	t.Run("create locks the movie first", func(t *testing.T) {
		tombstone, video := setup(t, "first-create")
		tx, err := creator.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		// Run the commit-time check now, so that the share lock is held
		// while the delete starts.
		if _, err := tx.Exec(ctx, `SET CONSTRAINTS catalog_video_movie_live_on_insert IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, daprUpsertFirstWrite, video.key, video.value, false); err != nil {
			t.Fatal(err)
		}
		deleteErr := make(chan error, 1)
		go func() { deleteErr <- daprTransact(ctx, deleter, []daprOp{tombstone}, noPause) }()
		waitBlocked(t, deleter)
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("create: %v", err)
		}
		if err := <-deleteErr; violated(t, err) != movieHasVideos {
			t.Fatalf("delete after the create committed: %v", err)
		}
	})
	if o := orphans(t, db); len(o) > 0 {
		t.Fatalf("live videos of missing or deleted movies: %v", o)
	}
}
