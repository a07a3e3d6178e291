package emulator

import (
	"encoding/json"
	"net/http"
)

// apiError is an Upload API refusal: Cloudinary answers
// {"error":{"message":"..."}} with the HTTP status (cloudinary-go reads it
// into UploadResult.Error, api.ErrorResp{Message}).
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

func errorf(status int, message string) *apiError { return &apiError{status, message} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "&" in a string to sign stays "&", as Cloudinary writes it
	_ = enc.Encode(v)
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"message": e.message}})
}

// deliveryError is how the delivery side refuses: an empty body and the
// reason in the X-Cld-Error header, as Cloudinary's CDN does.
func deliveryError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("X-Cld-Error", reason)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
}
