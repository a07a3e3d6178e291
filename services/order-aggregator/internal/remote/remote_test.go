package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"tenflix/platform/sidecar"
	"tenflix/services/order-aggregator/internal/remote"
)

func TestClassify(t *testing.T) {
	// daprd passes only the first 63 bytes of the callee's error body.
	cut := `{"error":{"code":"order_pending","message":"the user has an ord`
	tests := []struct {
		name        string
		err         error
		wantRefusal *remote.Refusal
	}{
		{"callee 409 in its envelope, cut", &sidecar.APIError{Status: 409, Message: cut},
			&remote.Refusal{Service: "order", Status: 409, Code: "order_pending"}},
		{"callee 404, wrapped", fmt.Errorf("invoke order: %w", &sidecar.APIError{Status: 404, Message: `{"error":{"code":"not_found"`}),
			&remote.Refusal{Service: "order", Status: 404, Code: "not_found"}},
		{"daprd's 403 (accessControl): no envelope", &sidecar.APIError{Status: 403, ErrorCode: "PermissionDenied", Message: "access control policy has denied access"}, nil},
		{"callee 500 in its envelope", &sidecar.APIError{Status: 500, Message: `{"error":{"code":"internal","message":"x"}}`}, nil},
		{"callee 503", &sidecar.APIError{Status: 503, Message: `{"error":{"code":"unavailable"`}, nil},
		{"deadline", &sidecar.APIError{Status: 504, ErrorCode: "DeadlineExceeded"}, nil},
		{"transport", context.Canceled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := remote.Classify("order", tt.err)
			r, ok := remote.RefusalOf(err)
			if tt.wantRefusal == nil {
				if ok || !errors.Is(err, remote.ErrUnavailable) || !errors.Is(err, tt.err) {
					t.Fatalf("Classify = %v, want unavailable keeping its cause", err)
				}
				return
			}
			if !ok || *r != *tt.wantRefusal {
				t.Fatalf("Classify = %#v, want %#v", err, tt.wantRefusal)
			}
		})
	}
	if remote.Classify("order", nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	notFound := remote.Classify("order", &sidecar.APIError{Status: 404, Message: `{"error":{"code":"not_found"}}`})
	if !remote.IsNotFound(notFound) || remote.IsNotFound(remote.Classify("order", context.Canceled)) {
		t.Error("IsNotFound")
	}
	if !remote.IsRefusedWith(remote.Classify("order", &sidecar.APIError{Status: 409, Message: cut}), "order_pending") {
		t.Error("IsRefusedWith")
	}
}
