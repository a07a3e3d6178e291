// Package migrations embeds the notification service's SQL migrations.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS

// Table records the migrations applied; LockID is the advisory lock that
// serialises instances migrating at once (pgdb.Migrate).
const (
	Table  = "notification_migrations"
	LockID = 7109
)
