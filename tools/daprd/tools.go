//go:build tools

// Package tools pins daprd's main package so `go build` resolves it from this module.
package tools

import _ "github.com/dapr/dapr/cmd/daprd"
