package http

import (
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake/email"
)

// DefaultMaxEmailBytes bounds a reported message taken in whole; a longer
// one is kept to this length, as evidence marked truncated.
const DefaultMaxEmailBytes = 25 << 20

// EmailIngestResult answers a reported message: what intake did, and what
// the parser found out about the message.
type EmailIngestResult struct {
	vigil.IngestResult
	// Forward is how the suspect was found: attached, inline or none.
	Forward string `json:"forward"`
	// Truncated: the message was longer than the limit and only its first
	// bytes were kept (the alert says so too).
	Truncated bool `json:"truncated"`
	// Problems say what could not be read in the message.
	Problems []string `json:"problems"`
}

func (s *Server) maxEmailBytes() int64 {
	if s.MaxEmailBytes > 0 {
		return s.MaxEmailBytes
	}
	return DefaultMaxEmailBytes
}

// handleIntakeEmail takes a reported message: POST /api/v1/intake/email
// with an email integration's token and a raw RFC 5322 message
// (Content-Type: message/rfc822). The message becomes an alert of kind
// email; the message and its attachments are kept as the alert's evidence.
func (s *Server) handleIntakeEmail(w http.ResponseWriter, r *http.Request) error {
	res, in, err := s.intakeEmail(r)
	if err != nil {
		return s.intakeError(w, in, err)
	}
	s.json(w, http.StatusOK, res)
	return nil
}

func (s *Server) intakeEmail(r *http.Request) (*EmailIngestResult, *vigil.Integration, error) {
	in, err := s.integrationFor(r)
	if err != nil {
		return nil, in, err
	}
	if in.Kind != vigil.IntegrationEmail {
		return nil, in, vigil.Errorf(vigil.EFORBIDDEN, "This token belongs to the %s integration %q; post to /api/v1/intake/%s.", in.Kind, in.Name, in.Kind)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "message/rfc822" && mt != "application/octet-stream" {
		return nil, in, &Problem{Status: http.StatusUnsupportedMediaType, Code: vigil.EINVALID,
			Detail: "Send the message as it is (an .eml file's bytes) with Content-Type: message/rfc822."}
	}
	limit := s.maxEmailBytes()
	s.gateOnce.Do(func() { s.intakeGate = newIntakeGate(s.IntakeLimits) })
	size := r.ContentLength
	if size <= 0 || size > limit {
		size = limit
	}
	leave, err := s.intakeGate.enter(r.Context(), in.ID, min(size, s.intakeGate.budget()))
	if err != nil {
		return nil, in, err
	}
	defer leave()
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, in, vigil.Invalid("body", "The message could not be read.")
	}
	src := email.Source{From: fmt.Sprintf("upload to integration %q", in.Name), Method: "POST /api/v1/intake/email (message/rfc822)",
		At: s.Now(), Limit: limit, Size: int64(len(raw))}
	if int64(len(raw)) > limit {
		// Over the limit: keep what fits, say so. The rest is not read.
		src.Truncated = true
		raw = raw[:limit]
	}
	rep, err := email.Parse(raw)
	if err != nil {
		return nil, in, vigil.Invalid("body", "The message is empty; send the reported message's bytes (an .eml file).")
	}
	a := rep.Alert(in, raw, src)
	a.Prepare(in)
	res, err := s.Services.Alerts.IngestAlerts(r.Context(), in, []*vigil.AlertInput{a})
	if err != nil {
		return nil, in, err
	}
	if s.Metrics != nil {
		s.Metrics.observeIngest(in.Name, res)
	}
	problems := rep.Problems
	if problems == nil {
		problems = []string{}
	}
	return &EmailIngestResult{IngestResult: *res, Forward: rep.Forward, Truncated: src.Truncated, Problems: problems}, in, nil
}
