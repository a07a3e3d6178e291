package emulator

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Cloudinary's signatures are plain digests of content + api_secret (not
// HMACs), SHA-1 unless the account says SHA-256 (cloudinary-go
// internal/signature.Sign).
func digest(algo, content, secret string) []byte {
	var h hash.Hash = sha1.New()
	if algo == "sha256" {
		h = sha256.New()
	}
	h.Write([]byte(content + secret))
	return h.Sum(nil)
}

// ignoredSignatureKeys are left out of the string to sign ("All parameters
// ... except: file, cloud_name, resource_type and your api_key", quoted in
// cloudinary-go api/uploader/upload.go signRequest); signature itself too.
var ignoredSignatureKeys = map[string]bool{
	"file": true, "cloud_name": true, "resource_type": true, "api_key": true, "signature": true,
}

var arrayKey = regexp.MustCompile(`^(.*)\[(\d*)]$`)

// stringsToSign are the strings a client may have signed for params: the
// sorted key=value pairs joined with "&", array parameters (tags[0],
// tags[1]) joined with ","; signature version 2 (cloudinary-go's default)
// writes "&" inside a value as "%26", version 1 leaves it. The server cannot
// tell which version a client used, so both are accepted; they differ only
// for values containing "&".
func stringsToSign(params map[string][]string) (v2, v1 string) {
	// Array elements (tags[0], tags[1], ...) join in index order, not in
	// the map's random order.
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		mi, mj := arrayKey.FindStringSubmatch(names[i]), arrayKey.FindStringSubmatch(names[j])
		if mi != nil && mj != nil && mi[1] == mj[1] {
			a, _ := strconv.Atoi(mi[2])
			b, _ := strconv.Atoi(mj[2])
			return a < b
		}
		return names[i] < names[j]
	})
	merged := map[string][]string{}
	for _, k := range names {
		vs := params[k]
		if ignoredSignatureKeys[k] {
			continue
		}
		if m := arrayKey.FindStringSubmatch(k); m != nil {
			merged[m[1]] = append(merged[m[1]], vs...)
			continue
		}
		merged[k] = append(merged[k], vs...)
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b1, b2 strings.Builder
	for i, k := range keys {
		v := strings.Join(merged[k], ",")
		if i > 0 {
			b1.WriteByte('&')
			b2.WriteByte('&')
		}
		b1.WriteString(k + "=" + v)
		b2.WriteString(k + "=" + strings.ReplaceAll(v, "&", "%26"))
	}
	return b2.String(), b1.String()
}

// validRequestSignature reports whether sig (hex) signs params.
func validRequestSignature(params map[string][]string, sig, secret, algo string) (ok bool, signed string) {
	v2, v1 := stringsToSign(params)
	got, err := hex.DecodeString(strings.ToLower(sig))
	if err != nil {
		return false, v2
	}
	for _, s := range []string{v2, v1} {
		if subtle.ConstantTimeCompare(got, digest(algo, s, secret)) == 1 {
			return true, s
		}
	}
	return false, v2
}

// urlSignature is the delivery URL signature component of toSign (the
// transformation and public id with extension, "/"-joined, without the
// version): "s--" + the first 8 characters of the URL-safe base64 digest +
// "--"; 32 characters of SHA-256 for long_url_signature (cloudinary-go
// asset.signature, internal/signature.SignURL).
func urlSignature(toSign, secret, algo string, long bool) string {
	n := 8
	if long {
		algo, n = "sha256", 32
	}
	s := base64.RawURLEncoding.EncodeToString(digest(algo, toSign, secret))
	return "s--" + s[:n] + "--"
}

// validURLSignature checks a signature component (s--XXXXXXXX--) against
// toSign; its length says short (account algorithm) or long (SHA-256).
func validURLSignature(component, toSign, secret, algo string) bool {
	body := strings.TrimSuffix(strings.TrimPrefix(component, "s--"), "--")
	var want string
	switch len(body) {
	case 8:
		want = urlSignature(toSign, secret, algo, false)
	case 32:
		want = urlSignature(toSign, secret, algo, true)
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(component), []byte(want)) == 1
}

// notificationSignature is X-Cld-Signature: hex digest of body + timestamp +
// api_secret (cloudinary-go VerifyNotificationSignature: payload
// fmt.Sprintf("%s%d", body, timestamp)).
func notificationSignature(body []byte, timestamp, secret, algo string) string {
	return hex.EncodeToString(digest(algo, string(body)+timestamp, secret))
}

// responseSignature is the upload answer's "signature": hex digest of
// "public_id=P&version=V" + secret (cloudinary-go VerifyApiResponseSignature).
func responseSignature(publicID, version, secret, algo string) string {
	return hex.EncodeToString(digest(algo, "public_id="+publicID+"&version="+version, secret))
}
