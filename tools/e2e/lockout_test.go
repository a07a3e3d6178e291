package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from source address
// ip: to the gateway it is another client (Linux routes all of 127/8 to
// loopback).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 30 * time.Second}
}

// signInAs posts a password grant with client c; it returns the response
// (body read) and its Retry-After header.
func signInAs(t testing.TB, c *http.Client, email, password string) (response, string) {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gateway+"/api/v1/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b}, resp.Header.Get("Retry-After")
}

// Wrong passwords from one client throttle that client, not the account's
// owner signing in from another one.
func TestWrongPasswordsFromOneClientDoNotLockTheOwnerOut(t *testing.T) {
	email := "lockout-" + randomHex(4) + "@tenflix.test"
	const password = "lockout-password-0123"
	mustStatus(t, call(t, http.MethodPost, gateway+"/api/v1/auth/register",
		map[string]string{"email": email, "password": password, "name": "Lockout Owner"}), http.StatusCreated)

	a, b := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	defer a.CloseIdleConnections()
	defer b.CloseIdleConnections()
	for i := range 5 {
		r, _ := signInAs(t, a, email, "wrong-password-"+strconv.Itoa(i))
		mustStatus(t, r, http.StatusUnauthorized)
	}
	r, _ := signInAs(t, a, email, "wrong-password-5")
	mustStatus(t, r, http.StatusTooManyRequests)

	r, _ = signInAs(t, b, email, password)
	mustStatus(t, r, http.StatusOK)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.Body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("no access token from the other client: %s", r.Body)
	}

	// The guessing client is still throttled, even with the right password.
	r, retry := signInAs(t, a, email, password)
	mustStatus(t, r, http.StatusTooManyRequests)
	if code := r.errorCode(); code != "rate_limited" {
		t.Fatalf("code %q: %s", code, r.Body)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", retry)
	}
}
