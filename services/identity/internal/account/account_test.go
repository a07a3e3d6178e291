package account

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func isInvalid(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve)
}

func TestNormalizeEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"ann@example.com", "ann@example.com", true},
		{"  Ann.Lee+films@Example.COM ", "Ann.Lee+films@Example.COM", true},
		{"admin@tenflix.local", "admin@tenflix.local", true},
		{long, long, true},
		{"", "", false},
		{"   ", "", false},
		{"ann", "", false},
		{"ann@", "", false},
		{"@example.com", "", false},
		{"ann@example", "", false},
		{"ann@@example.com", "", false},
		{"ann@example.com.", "", false},
		{"ann @example.com", "", false},
		{"Ann <ann@example.com>", "", false},
		{"ann@example.com, bob@example.com", "", false},
		{"ann\n@example.com", "", false},
		{"ann@[127.0.0.1]", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{long + "m", "", false},
	} {
		got, err := NormalizeEmail(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !isInvalid(err) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want a validation error", tt.in, got, err)
		}
	}
}

func TestEmailKeyIgnoresCaseAndSpace(t *testing.T) {
	if EmailKey(" Ann@Example.COM ") != "ann@example.com" {
		t.Fatal(EmailKey(" Ann@Example.COM "))
	}
}

func TestNormalizeName(t *testing.T) {
	for in, ok := range map[string]bool{
		"Ann Lee":                true,
		"  Zoë Saldaña ":         true,
		"李小龍":                    true,
		strings.Repeat("é", 100): true,
		"":                       false,
		"  ":                     false,
		strings.Repeat("é", 101): false,
		"Ann\x00Lee":             false,
		"Ann\u0007":              false,
		"tab\tname":              false,
	} {
		_, err := NormalizeName(in)
		if ok && err != nil || !ok && !isInvalid(err) {
			t.Errorf("NormalizeName(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	const email, name = "johnsmith@example.com", "John Smith"
	for _, tt := range []struct {
		pw   string
		ok   bool
		want string // part of the message
	}{
		{"correct horse battery staple", true, ""},
		{"Tr0ub4dor&3xyz", true, ""},
		{"ünïcödé-pässwörd", true, ""},
		{strings.Repeat("x", 5) + "yz-plenty-long" + strings.Repeat("q", 100), true, ""},
		{"", false, "required"},
		{"short1!", false, "at least 10"},
		{"nine char", false, "at least 10"},
		{strings.Repeat("ab1", 43), false, "at most 128"},
		{"12345678901", false, "letter"},
		{"2024-01-01!!", false, "letter"},
		{"password123", false, "common"},
		{"Password123!", false, "common"},
		{"PASSWORD1234", false, "common"},
		{"!!Tenflix2024", false, "common"},
		{"qwertyuiop", false, "common"},
		{"iloveyou12", false, "common"},
		{"aaaaaaaaaaaa", false, "common"},
		{"abcabcabcabc", false, "common"},
		{"passwordpassword", false, "common"},
		{"abcdefghijkl", false, "common"},
		{"zyxwvutsrqpo", false, "common"},
		{"johnsmith@example.com", false, "email or name"},
		{"JohnSmith2024", false, "email or name"},
		{"john smith", false, "email or name"},
		{"pass\x00word-long", false, "invalid characters"},
	} {
		err := CheckPassword(tt.pw, email, name)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckPassword(%q) = %v, want ok", tt.pw, err)
			}
			continue
		}
		if !isInvalid(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckPassword(%q) = %v, want a validation error mentioning %q", tt.pw, err, tt.want)
		}
	}
}

func TestCommonListIsLoaded(t *testing.T) {
	if len(commonSet) < 100 || !commonSet["1234567890"] || commonSet[""] || commonSet["# frequent"] {
		t.Fatalf("common password list not loaded as expected (%d entries)", len(commonSet))
	}
}

func TestIsAdmin(t *testing.T) {
	if (User{Roles: []string{RoleUser}}).IsAdmin() || !(User{Roles: []string{RoleUser, RoleAdmin}}).IsAdmin() {
		t.Fatal("IsAdmin")
	}
}

func TestLoginPolicySpacing(t *testing.T) {
	p := DefaultLoginPolicy
	for failures, want := range map[int]time.Duration{
		0: 0, 9: 0, 10: time.Second, 14: time.Second, 15: 2 * time.Second, 20: 4 * time.Second,
		30: 16 * time.Second, 35: 30 * time.Second, 55: 30 * time.Second, 1 << 20: 30 * time.Second,
	} {
		if got := p.Spacing(failures); got != want {
			t.Errorf("Spacing(%d) = %s, want %s", failures, got, want)
		}
	}
}
