package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/vigil-ir/vigil"
)

// Problem is an RFC 9457 problem details object. Type is "about:blank"
// throughout: the HTTP status says what kind of problem it is, and the
// extension member "code" gives Vigil's finer code to programs.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	Instance  string             `json:"instance,omitempty"`
	Code      string             `json:"code"`
	Errors    []vigil.FieldError `json:"errors,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
	// Current is the resource as it is now, sent with 412 so that a client
	// can show what changed without another request.
	Current any `json:"current,omitempty"`
}

// Error makes a Problem an error, so that a handler can return the answers
// a code alone does not describe (415, 412 with the current resource, 503)
// and have them written like any other.
func (p *Problem) Error() string { return fmt.Sprintf("%d %s", p.Status, p.Detail) }

// error writes err as problem+json, logging it only if it is internal:
// user errors are the user's business, internal ones are ours; the store's
// faults (503, 507) are logged as warnings, and a 503 carries Retry-After.
// A *Problem is written as it stands.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := errors.AsType[*Problem](err); ok {
		s.problem(w, r, p)
		return
	}
	err = vigil.TimedOut(err)
	code := vigil.ErrorCode(err)
	status := vigil.HTTPStatus(code)
	switch code {
	case vigil.EINTERNAL:
		s.Logger.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", vigil.RequestIDFromContext(r.Context()))
	case vigil.EUNAVAILABLE, vigil.ESTORAGEFULL:
		// The store's fault, not ours or the user's: a warning with the
		// cause, once per request (the disk-full episode is logged at
		// error level once, by its watcher).
		s.Logger.WarnContext(r.Context(), "store fault", "code", code, "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", vigil.RequestIDFromContext(r.Context()))
		SetRetryAfter(w, err)
	}
	p := &Problem{
		Status: status, Detail: vigil.ErrorMessage(err), Code: code, Errors: vigil.ErrorFields(err),
	}
	if status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil", error="invalid_token"`)
	} else if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	}
	s.problem(w, r, p)
}

// problem writes p, filling the standard members.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, p *Problem) { writeProblem(w, r, p) }

func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Code == "" {
		p.Code = codeForStatus(p.Status)
	}
	p.Instance = r.URL.Path
	p.RequestID = vigil.RequestIDFromContext(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func codeForStatus(status int) string {
	for _, code := range []string{vigil.EINVALID, vigil.EUNAUTHORIZED, vigil.EFORBIDDEN, vigil.ENOTFOUND, vigil.ECONFLICT,
		vigil.ETOOLARGE, vigil.EPRECONDITION, vigil.ETOOMANY, vigil.ENOTIMPLEMENTED, vigil.EUNAVAILABLE, vigil.ESTORAGEFULL} {
		if vigil.HTTPStatus(code) == status {
			return code
		}
	}
	switch status {
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType, http.StatusNotAcceptable:
		return vigil.EINVALID
	case http.StatusPreconditionFailed:
		return vigil.ECONFLICT
	}
	return vigil.EINTERNAL
}
