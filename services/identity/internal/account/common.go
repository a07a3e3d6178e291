package account

import (
	_ "embed"
	"strings"
)

// commonPasswords are frequent passwords of the minimum length or longer
// (shorter ones fail the length rule anyway), lower-cased, one per line.
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonWords are the stems of the most common passwords: a stem followed by
// digits or symbols ("Password123!", "Tenflix2024") is as weak as the stem.
var commonWords = []string{
	"password", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "qwertyuiop", "azerty", "asdfgh",
	"asdfghjkl", "zxcvbnm", "iloveyou", "letmein", "welcome", "admin", "administrator", "login",
	"tenflix", "netflix", "football", "baseball", "basketball", "soccer", "hockey", "dragon",
	"monkey", "sunshine", "princess", "superman", "batman", "starwars", "whatever", "master",
	"shadow", "michael", "jennifer", "charlie", "computer", "internet", "trustno", "freedom",
	"secret", "changeme", "default", "abc", "abcdef", "abcdefg", "abcdefgh", "qazwsx",
	"1q2w3e", "1q2w3e4r", "1qaz2wsx", "zaq12wsx", "pokemon", "liverpool", "chelsea", "arsenal",
	"summer", "winter", "spring", "autumn", "hello", "helloworld", "movie", "movies", "cinema",
	"user", "test", "guest", "root", "love", "lovely", "flower", "cookie", "cheese", "mustang",
	"jordan", "harley", "ranger", "hunter", "buster", "tigger", "ginger", "pepper", "killer",
	"matrix", "samsung", "google", "apple", "iphone", "access", "mypassword", "newpassword",
}

var commonSet = func() map[string]bool {
	m := map[string]bool{}
	for l := range strings.SplitSeq(commonPasswordsText, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = true
		}
	}
	for _, w := range commonWords {
		m[w] = true
	}
	return m
}()

// isCommon reports a listed password, or a listed stem with only digits and
// symbols around it.
func isCommon(lower string) bool {
	if commonSet[lower] {
		return true
	}
	return commonSet[strings.TrimFunc(lower, func(r rune) bool { return !isLetter(r) })]
}

// hasLetter: passwords of digits and symbols only are mostly dates and phone
// numbers, guessed early by every cracker.
func hasLetter(s string) bool { return strings.ContainsFunc(s, isLetter) }

func isLetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 0x7f }

// isRepetitive reports a password made of one short unit repeated
// ("aaaaaaaaaa", "abcabcabca", "passwordpassword") or a plain run of
// consecutive characters ("1234567890", "abcdefghijk", "9876543210").
func isRepetitive(s string) bool {
	r := []rune(s)
	for p := 1; p <= len(r)/2; p++ {
		periodic := true
		for i := p; i < len(r); i++ {
			if r[i] != r[i-p] {
				periodic = false
				break
			}
		}
		if periodic {
			return true
		}
	}
	up, down := true, true
	for i := 1; i < len(r); i++ {
		up = up && (r[i] == r[i-1]+1 || (r[i-1] == '9' && r[i] == '0'))
		down = down && (r[i] == r[i-1]-1 || (r[i-1] == '0' && r[i] == '9'))
	}
	return up || down
}
