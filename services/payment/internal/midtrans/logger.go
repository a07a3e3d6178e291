package midtrans

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
)

const redacted = "[redacted]"

// sdkLogger replaces midtrans-go's logger, which prints every request
// header, the Basic auth header (the server key) included, to stdout. This
// one writes to the service's slog logger: the SDK's errors at warn, the
// rest at debug, with the authorization header and any trace of the server
// key (plain, or base64 as Basic auth carries it) redacted.
type sdkLogger struct {
	log     *slog.Logger
	secrets []string
}

func newSDKLogger(log *slog.Logger, serverKey string) *sdkLogger {
	return &sdkLogger{log: log.With("component", "midtrans-go"), secrets: []string{
		base64.StdEncoding.EncodeToString([]byte(serverKey + ":")),
		base64.StdEncoding.EncodeToString([]byte(serverKey)),
		serverKey,
	}}
}

func (l *sdkLogger) Error(format string, v ...any) { l.log.Warn(l.text(format, v)) }
func (l *sdkLogger) Info(format string, v ...any)  { l.log.Debug(l.text(format, v)) }
func (l *sdkLogger) Debug(format string, v ...any) { l.log.Debug(l.text(format, v)) }

// text formats one SDK message. The SDK logs a header as ("%v: %v", name,
// value): an authorization value never reaches the format.
func (l *sdkLogger) text(format string, v []any) string {
	if len(v) == 2 && strings.EqualFold(fmt.Sprint(v[0]), "authorization") {
		v = []any{v[0], redacted}
	}
	s := fmt.Sprintf(format, v...)
	for _, secret := range l.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}
