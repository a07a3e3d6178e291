// Package migrations embeds identity's SQL migrations.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
