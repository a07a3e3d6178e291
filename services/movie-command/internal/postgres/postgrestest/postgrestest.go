// Package postgrestest holds what tests of movie-command's SQL share.
package postgrestest

// DaprStateTable is the table daprd's state.postgresql v1 creates (see its
// migrations); tests create it themselves to exercise our migrations and
// queries on the same shape.
const DaprStateTable = `CREATE TABLE catalog_state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate timestamptz NOT NULL DEFAULT now(),
	updatedate timestamptz NULL,
	expiredate timestamptz NULL)`
