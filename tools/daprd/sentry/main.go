// Command sentry is Dapr 1.14.0's certificate authority for the local stack:
// the upstream packages of cmd/sentry, wired by a small main of our own so
// that every socket is on loopback. Upstream 1.14 drops --listen-address
// (pkg/sentry/sentry.go builds server.Options without it) and serves healthz
// and metrics on every interface. Self-hosted, sentry signs a certificate for
// whichever app id asks (the insecure validator), so anyone who reaches it
// could become any app: it must not be reachable from the network.
//
// Only the self-hosted, insecure-validator mode is supported; metrics are off.
package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/dapr/dapr/pkg/healthz"
	sentryv1pb "github.com/dapr/dapr/pkg/proto/sentry/v1"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/dapr/pkg/sentry/config"
	"github.com/dapr/dapr/pkg/sentry/server"
	"github.com/dapr/dapr/pkg/sentry/server/ca"
	"github.com/dapr/dapr/pkg/sentry/server/validator"
	"github.com/dapr/dapr/pkg/sentry/server/validator/insecure"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/signals"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sentry:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		creds       = flag.String("issuer-credentials", "", "directory of the CA's files (generated there when empty)")
		trustDomain = flag.String("trust-domain", "localhost", "the CA's trust domain")
		listen      = flag.String("listen-address", "127.0.0.1", "address of the CA and healthz servers")
		port        = flag.Int("port", 3900, "port of the CA server (gRPC, mTLS)")
		healthzPort = flag.Int("healthz-port", 3901, "port of GET /healthz")
		configFile  = flag.String("config", "", "Configuration file named daprsystem (spec.mtls)")
	)
	flag.Parse()
	if *creds == "" || *configFile == "" {
		return errors.New("-issuer-credentials and -config are required")
	}

	cfg, err := config.FromConfigName(*configFile)
	if err != nil {
		return err
	}
	if cfg.DefaultValidator != sentryv1pb.SignCertificateRequest_INSECURE {
		return fmt.Errorf("only the self-hosted insecure validator is supported, not %s", cfg.DefaultValidator)
	}
	cfg.IssuerCertPath = filepath.Join(*creds, config.DefaultIssuerCertFilename)
	cfg.IssuerKeyPath = filepath.Join(*creds, config.DefaultIssuerKeyFilename)
	cfg.RootCertPath = filepath.Join(*creds, config.DefaultRootCertFilename)
	cfg.TrustDomain = *trustDomain
	cfg.Port = *port
	cfg.ListenAddress = *listen

	ctx := signals.Context()
	camngr, err := ca.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create CA: %w", err)
	}
	hz := healthz.New()
	sec, err := security.New(ctx, security.Options{
		ControlPlaneTrustDomain: cfg.TrustDomain,
		ControlPlaneNamespace:   security.CurrentNamespace(),
		AppID:                   "dapr-sentry",
		TrustAnchors:            camngr.TrustAnchors(),
		MTLSEnabled:             true,
		Healthz:                 hz,
		// Sentry's own serving certificate comes from its in-memory CA.
		OverrideCertRequestFn: func(ctx context.Context, csrDER []byte) ([]*x509.Certificate, error) {
			csr, err := x509.ParseCertificateRequest(csrDER)
			if err != nil {
				return nil, err
			}
			return camngr.SignIdentity(ctx, &ca.SignRequest{
				PublicKey:          csr.PublicKey.(crypto.PublicKey),
				SignatureAlgorithm: csr.SignatureAlgorithm,
				TrustDomain:        cfg.TrustDomain,
				Namespace:          security.CurrentNamespace(),
				AppID:              "dapr-sentry",
			})
		},
	})
	if err != nil {
		return fmt.Errorf("create security: %w", err)
	}
	validators := map[sentryv1pb.SignCertificateRequest_TokenValidator]validator.Validator{
		sentryv1pb.SignCertificateRequest_INSECURE: insecure.New(),
	}
	caServer := server.New(server.Options{
		Port:             cfg.Port,
		ListenAddress:    cfg.ListenAddress,
		Security:         sec,
		Validators:       validators,
		DefaultValidator: cfg.DefaultValidator,
		CA:               camngr,
		Healthz:          hz,
	})
	healthzAddr := net.JoinHostPort(*listen, strconv.Itoa(*healthzPort))
	return concurrency.NewRunnerManager(sec.Run, caServer.Start, func(ctx context.Context) error {
		return serveHealthz(ctx, healthzAddr, hz)
	}).Run(ctx)
}

// serveHealthz answers GET /healthz with 200 once the CA serves, 503 before.
func serveHealthz(ctx context.Context, addr string, hz healthz.Healthz) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !hz.IsReady() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
