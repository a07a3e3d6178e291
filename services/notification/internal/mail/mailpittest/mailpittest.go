// Package mailpittest starts a real SMTP server for tests: the mailpit
// binary that `make build` puts in bin/ (tools/mailpit), on free loopback
// ports, with its messages read back through mailpit's HTTP API.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a running mailpit.
type Server struct {
	SMTPHost string
	SMTPPort int
	API      string // http://127.0.0.1:<port>
	cmd      *exec.Cmd
}

// binary is $MAILPIT, or bin/mailpit of the repository.
func binary(t testing.TB) string {
	if p := os.Getenv("MAILPIT"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for ; dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("mailpit not found: run `make build` (it builds bin/mailpit from tools/mailpit) or set MAILPIT")
	return ""
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs mailpit until the test ends; it accepts any SMTP login.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{SMTPHost: "127.0.0.1", SMTPPort: freePort(t)}
	web := freePort(t)
	s.API = fmt.Sprintf("http://127.0.0.1:%d", web)
	s.cmd = exec.Command(binary(t), "--smtp", fmt.Sprintf("127.0.0.1:%d", s.SMTPPort),
		"--listen", fmt.Sprintf("127.0.0.1:%d", web), "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--quiet")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.API + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
	}
	t.Fatal("mailpit did not become ready")
	return nil
}

// Stop ends mailpit (SMTP refused from then on).
func (s *Server) Stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Message is a summary in mailpit's list.
type Message struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"To"`
}

// Full is one message with its parts.
type Full struct {
	Subject string `json:"Subject"`
	Text    string `json:"Text"`
	HTML    string `json:"HTML"`
}

// Messages lists what was received for query (mailpit search syntax,
// e.g. "to:a@example.test"), newest first.
func (s *Server) Messages(t testing.TB, query string) []Message {
	t.Helper()
	var out struct {
		Messages []Message `json:"messages"`
	}
	get(t, s.API+"/api/v1/search?limit=1000&query="+url.QueryEscape(query), &out)
	return out.Messages
}

// Message reads one message.
func (s *Server) Message(t testing.TB, id string) Full {
	var f Full
	get(t, s.API+"/api/v1/message/"+url.PathEscape(id), &f)
	return f
}

// Headers reads one message's headers.
func (s *Server) Headers(t testing.TB, id string) map[string][]string {
	h := map[string][]string{}
	get(t, s.API+"/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h
}

func get(t testing.TB, u string, dst any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		t.Fatal(err)
	}
}
