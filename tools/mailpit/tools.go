//go:build tools

// Package mailpit pins the SMTP sink that `make run` and the tests start
// locally (github.com/axllent/mailpit). It is built, never imported:
//
//	cd tools/mailpit && GOWORK=off go build -o ../../bin/mailpit github.com/axllent/mailpit
package mailpit

import _ "github.com/axllent/mailpit"
