module tenflix/tools/e2e

go 1.26.0

require (
	github.com/dapr/go-sdk v1.11.0
	github.com/twmb/franz-go v1.22.3
)

require (
	github.com/dapr/dapr v1.14.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/twmb/franz-go/pkg/kadm v1.20.0 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.1 // indirect
	go.opentelemetry.io/otel v1.27.0 // indirect
	golang.org/x/net v0.51.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240624140628-dc46fd24d27d // indirect
	google.golang.org/grpc v1.65.0 // indirect
	google.golang.org/protobuf v1.36.10 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
	tenflix/proto v0.0.0 // indirect
)

require (
	tenflix/platform v0.0.0
	tenflix/services/media v0.0.0
)

replace (
	tenflix/platform => ../../platform
	tenflix/proto => ../../proto
	tenflix/services/media => ../../services/media
)
