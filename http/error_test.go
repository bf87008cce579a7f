package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestErrorWritesProblem checks that a handler's returned *Problem is
// written as it stands and a vigil error by its code.
func TestErrorWritesProblem(t *testing.T) {
	s := NewServer(vigil.Services{}, nil)
	for _, tt := range []struct {
		err    error
		status int
		code   string
	}{
		{&Problem{Status: http.StatusUnsupportedMediaType, Detail: "Send JSON."}, 415, vigil.EINVALID},
		{fmt.Errorf("wrapped: %w", &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT}), 412, vigil.ECONFLICT},
		{vigil.Errorf(vigil.ENOTFOUND, "Not found."), 404, vigil.ENOTFOUND},
		{fmt.Errorf("boom"), 500, vigil.EINTERNAL},
		{vigil.Wrap(errors.New("connection refused"), vigil.EUNAVAILABLE, "Try again."), 503, vigil.EUNAVAILABLE},
		{fmt.Errorf("wait for a slot: %w", context.DeadlineExceeded), 503, vigil.EUNAVAILABLE},
		{vigil.Wrap(errors.New("no space left on device"), vigil.ESTORAGEFULL, "Disk full."), 507, vigil.ESTORAGEFULL},
	} {
		w := httptest.NewRecorder()
		s.writeErrors(func(http.ResponseWriter, *http.Request) error { return tt.err })(w, httptest.NewRequest("GET", "/api/v1/x", nil))
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != tt.status || p.Status != tt.status || p.Code != tt.code {
			t.Errorf("%v: status %d, body %s; want %d with code %q", tt.err, w.Code, w.Body, tt.status, tt.code)
		}
		// 503 says when to come back (vigil.DefaultRetryAfter); nothing else does.
		if got, want := w.Header().Get("Retry-After"), map[bool]string{true: "5"}[tt.status == 503]; got != want {
			t.Errorf("%v: Retry-After = %q, want %q", tt.err, got, want)
		}
	}
}

// TestTAXIIFail checks the TAXII error messages: the status from
// vigil.HTTPStatus, the title in TAXII's sentence case, and the detail of
// internal errors kept back.
func TestTAXIIFail(t *testing.T) {
	s := NewServer(vigil.Services{}, nil)
	for _, tt := range []struct {
		err   error
		want  int
		title string
		desc  string
	}{
		{vigil.Errorf(vigil.ENOTFOUND, "No such collection."), 404, "Not found", "No such collection."},
		{vigil.Errorf(vigil.EFORBIDDEN, "No."), 403, "Forbidden", "No."},
		{vigil.Errorf(vigil.EUNAUTHORIZED, "Who?"), 401, "Unauthorized", "Who?"},
		{vigil.Invalid("limit", "A positive whole number."), 400, "Bad request", "limit: A positive whole number."},
		{vigil.Errorf(vigil.ECONFLICT, "Taken."), 409, "Conflict", "Taken."},
		{vigil.Errorf(vigil.ETOOMANY, "Slow down."), 429, "Too many requests", "Slow down."},
		{errTAXIITooLarge, 413, "Too large", fmt.Sprintf("The API root takes at most %d bytes.", TAXIIMaxContentLength)},
		{fmt.Errorf("disk on fire"), 500, "Internal error", ""},
	} {
		w := httptest.NewRecorder()
		s.writeTAXIIErrors(func(http.ResponseWriter, *http.Request) error { return tt.err })(w, httptest.NewRequest("GET", "/taxii2/api/", nil))
		var m map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != tt.want || m["title"] != tt.title ||
			m["description"] != tt.desc || m["http_status"] != fmt.Sprint(tt.want) {
			t.Errorf("%v: %d %s, want %d %q %q", tt.err, w.Code, w.Body, tt.want, tt.title, tt.desc)
		}
	}
}
