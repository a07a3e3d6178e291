// Package web is the watch page the gateway serves at / and /web/*: plain
// HTML, CSS and one JavaScript module, embedded so the binary is
// self-contained. lib/ holds the player library (hls.min.js), copied from
// tools/web/node_modules by `make build`; it is not committed, so a fresh
// clone builds (lib/README.md is always there) and the page says the player
// is missing until the Makefile has copied it.
package web

import "embed"

// Files are the page's files, by their path under /web/ (index.html is also /).
//
//go:embed index.html app.js style.css lib
var Files embed.FS
