// Package sidecartest is a stand-in for a Dapr sidecar in services' tests:
// a gRPC Dapr API (secrets, publish, service invocation) that behaves like
// daprd 1.14 for what the services use, and the HTTP readiness probe.
package sidecartest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	commonv1 "github.com/dapr/dapr/pkg/proto/common/v1"
	pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"tenflix/platform/sidecar"
)

// Published is one event the app published.
type Published struct {
	PubSub, Topic, ContentType string
	Data                       []byte
	Token                      string // the dapr-api-token it came with
}

// Invoked is one service invocation the app made.
type Invoked struct {
	AppID, Method, Verb, Query string
	Token                      string
	ContentType                string
	Body                       []byte
}

// InvokeFunc answers an invocation: the callee's body, or its HTTP status
// (>= 300) and body as daprd reports a non-2xx answer.
type InvokeFunc func(Invoked) (status int, body []byte)

// Sidecar is the stand-in. Its zero value is not usable: call New.
type Sidecar struct {
	pb.UnimplementedDaprServer

	mu            sync.Mutex
	secrets       map[string]string
	published     []Published
	invoked       []Invoked
	traceparents  []string
	failPublishes int
	invoke        InvokeFunc

	httpSrv  *httptest.Server
	grpcAddr *net.TCPAddr
}

// New starts a sidecar holding secrets (of any store), stopped at the end of
// the test.
func New(tb testing.TB, secrets map[string]string) *Sidecar {
	tb.Helper()
	s := &Sidecar{secrets: map[string]string{}}
	for k, v := range secrets {
		s.secrets[k] = v
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterDaprServer(g, s)
	go func() { _ = g.Serve(l) }()
	tb.Cleanup(g.Stop)
	s.grpcAddr = l.Addr().(*net.TCPAddr)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/healthz/outbound", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	s.httpSrv = httptest.NewServer(mux)
	tb.Cleanup(s.httpSrv.Close)
	return s
}

// HTTPPort is the port of the HTTP API (DAPR_HTTP_PORT).
func (s *Sidecar) HTTPPort() string {
	return s.httpSrv.URL[strings.LastIndexByte(s.httpSrv.URL, ':')+1:]
}

// GRPCPort is the port of the gRPC API (DAPR_GRPC_PORT).
func (s *Sidecar) GRPCPort() string { return fmt.Sprint(s.grpcAddr.Port) }

// Client is a sidecar.Client of this sidecar, closed at the end of the test.
func (s *Sidecar) Client(tb testing.TB, apiToken string) *sidecar.Client {
	tb.Helper()
	c, err := sidecar.NewWithGRPC(s.HTTPPort(), s.GRPCPort(), apiToken)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// SetSecret sets (or, with an empty value, removes) a secret.
func (s *Sidecar) SetSecret(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.secrets, name)
		return
	}
	s.secrets[name] = value
}

// Secret is the current value of a secret.
func (s *Sidecar) Secret(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secrets[name]
}

// Published is every event published so far.
func (s *Sidecar) Published() []Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Published(nil), s.published...)
}

// Invoked is every invocation so far.
func (s *Sidecar) Invoked() []Invoked {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invoked(nil), s.invoked...)
}

// FailPublishes makes the next n publishes fail as a broker outage does.
func (s *Sidecar) FailPublishes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPublishes = n
}

// HandleInvoke sets the answer of service invocations.
func (s *Sidecar) HandleInvoke(f InvokeFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invoke = f
}

// Traceparents is the traceparent of every secret read that had one.
func (s *Sidecar) Traceparents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.traceparents...)
}

func token(ctx context.Context) string { return incoming(ctx, "dapr-api-token") }

func incoming(ctx context.Context, key string) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// GetSecret answers a missing key as the local file store does (Internal,
// "... not found").
func (s *Sidecar) GetSecret(ctx context.Context, in *pb.GetSecretRequest) (*pb.GetSecretResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tp := incoming(ctx, "traceparent"); tp != "" {
		s.traceparents = append(s.traceparents, tp)
	}
	v, ok := s.secrets[in.GetKey()]
	if !ok {
		return nil, status.Errorf(codes.Internal, "failed getting secret with key %s from secret store %s: secret %s not found",
			in.GetKey(), in.GetStoreName(), in.GetKey())
	}
	return &pb.GetSecretResponse{Data: map[string]string{in.GetKey(): v}}, nil
}

// PublishEvent records the event.
func (s *Sidecar) PublishEvent(ctx context.Context, in *pb.PublishEventRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPublishes > 0 {
		s.failPublishes--
		return nil, status.Errorf(codes.Internal, "error when publish to topic %s in pubsub %s: broker down", in.GetTopic(), in.GetPubsubName())
	}
	s.published = append(s.published, Published{
		PubSub: in.GetPubsubName(), Topic: in.GetTopic(), ContentType: in.GetDataContentType(),
		Data: in.GetData(), Token: token(ctx),
	})
	return &emptypb.Empty{}, nil
}

// InvokeService answers with the InvokeFunc (404 without one), reporting a
// non-2xx answer as daprd does: an error with the HTTP status in its detail.
func (s *Sidecar) InvokeService(ctx context.Context, in *pb.InvokeServiceRequest) (*commonv1.InvokeResponse, error) {
	msg := in.GetMessage()
	inv := Invoked{AppID: in.GetId(), Method: msg.GetMethod(), Verb: msg.GetHttpExtension().GetVerb().String(),
		Query: msg.GetHttpExtension().GetQuerystring(), Token: token(ctx),
		ContentType: msg.GetContentType(), Body: msg.GetData().GetValue()}
	s.mu.Lock()
	s.invoked = append(s.invoked, inv)
	f := s.invoke
	s.mu.Unlock()
	code, body := http.StatusNotFound, []byte("no handler")
	if f != nil {
		code, body = f(inv)
	}
	if code >= 300 {
		return nil, invokeError(code, string(body))
	}
	return &commonv1.InvokeResponse{Data: &anypb.Any{Value: body}, ContentType: "application/json"}, nil
}

// invokeError is daprd's (pkg/messaging/v1 ErrorFromHTTPResponseCode).
func invokeError(code int, body string) error {
	st := status.New(codes.Unknown, http.StatusText(code))
	if code == http.StatusBadRequest {
		st = status.New(codes.InvalidArgument, http.StatusText(code))
	}
	if len(body) >= 63 {
		body = body[:63]
	}
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: http.StatusText(code), Domain: "dapr.io",
		Metadata: map[string]string{"http.code": strconv.Itoa(code), "http.error_message": body}})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}
