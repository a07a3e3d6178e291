// Command daprd is upstream daprd 1.14.0 (github.com/dapr/dapr/cmd/daprd/app,
// built with -tags stablecomponents) plus one component the stable set lacks:
// the SQLite name resolver. The local stack resolves app ids through a SQLite
// file instead of mDNS, because mDNS answers on UDP *:5353, on every
// interface, and nothing of the local stack but the gateway may listen beyond
// loopback.
package main

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
)

func main() {
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
	app.Run()
}
