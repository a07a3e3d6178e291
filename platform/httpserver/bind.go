package httpserver

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"tenflix/platform/apierror"
)

// BindJSON decodes a JSON request body into dst, rejecting unknown fields,
// trailing data and bodies that are not JSON, with a clear client error.
func BindJSON(c *gin.Context, dst any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return apierror.New(apierror.UnsupportedMedia, "content type must be application/json")
		}
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var maxErr *http.MaxBytesError
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &maxErr):
			return apierror.New(apierror.TooLarge, "request body larger than %d bytes", maxErr.Limit)
		case errors.Is(err, io.EOF):
			return apierror.New(apierror.Invalid, "request body is empty")
		case errors.As(err, &syntaxErr):
			return apierror.New(apierror.Invalid, "malformed JSON at byte %d", syntaxErr.Offset)
		case errors.As(err, &typeErr):
			return apierror.New(apierror.Invalid, "field %q must be %s", typeErr.Field, typeErr.Type)
		default:
			return apierror.Wrap(err, apierror.Invalid, "invalid JSON body: %s", err.Error())
		}
	}
	if dec.More() {
		return apierror.New(apierror.Invalid, "request body must hold a single JSON value")
	}
	return nil
}
