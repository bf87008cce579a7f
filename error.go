package vigil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. Each selects an HTTP status at the edge and tells callers what
// kind of failure happened without parsing messages.
const (
	ECONFLICT       = "conflict"        // the object changed underneath, or already exists
	EINTERNAL       = "internal"        // anything not otherwise classified; never shown in detail
	EINVALID        = "invalid"         // the input breaks a rule; Fields says which
	ENOTFOUND       = "not_found"       // no such object, or the actor may not see it
	ENOTIMPLEMENTED = "not_implemented" // the operation is not supported here
	EUNAUTHORIZED   = "unauthorized"    // not logged in, or the credentials are wrong
	EFORBIDDEN      = "forbidden"       // logged in, but not allowed to do this
	ETOOMANY        = "too_many"        // throttled; try again later
	EPRECONDITION   = "precondition"    // a required precondition (If-Match, version) is missing
	ETOOLARGE       = "too_large"       // the request or file is larger than allowed
	EIDEMPOTENCY    = "key_reused"      // an Idempotency-Key sent again with a different request
	EANSWERLOST     = "answer_lost"     // an Idempotency-Key's request was applied, but its answer was not kept
	EUNAVAILABLE    = "unavailable"     // the store did not answer (down, restarting, too slow); retry later
	ESTORAGEFULL    = "storage_full"    // the disk the store or the evidence folder writes to is full
)

// DefaultRetryAfter is how long a client is told to wait before it tries
// an EUNAVAILABLE request again, unless the error says otherwise: long
// enough for a database restart or a failover to be over, short enough
// that nobody gives up.
const DefaultRetryAfter = 5 * time.Second

// Error is an application error. Message is always safe to show to the user;
// anything that is not an *Error is treated as EINTERNAL and shown as
// "Internal error." (the idea behind tailscale's vizerror).
type Error struct {
	Code    string       // one of the E* constants
	Message string       // safe to show
	Fields  []FieldError // the input fields at fault, if any
	// RetryAfter, for EUNAVAILABLE, is when to try again (0: the
	// default, DefaultRetryAfter).
	RetryAfter time.Duration
	// Err is the cause, for the log; it is never shown.
	Err error
}

// FieldError names one input field at fault and says what is wrong with it.
// Field is a JSON path in the request body, such as "title" or "times.aware_at".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("vigil error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	if len(e.Fields) == 0 {
		return fmt.Sprintf("vigil error: code=%s message=%s", e.Code, e.Message)
	}
	var b strings.Builder
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	return fmt.Sprintf("vigil error: code=%s message=%s fields=[%s]", e.Code, e.Message, b.String())
}

// Unwrap returns the cause, so that errors.Is and errors.As see through
// an *Error to the driver or system error it classifies.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted, user-safe message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error for a single field.
func Invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil
// error, and EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or "Internal error." for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Wrap returns an *Error with code and a user-safe message whose cause,
// for the log, is err.
func Wrap(err error, code, msg string) *Error { return &Error{Code: code, Message: msg, Err: err} }

// TimedOut returns err as EUNAVAILABLE when it is not an *Error and a
// deadline caused it: a request's deadline for its store work that ran
// out outside the store (waiting for an intake slot, say), which is the
// same fault as one that ran out inside it. Other errors come back as
// they are.
func TimedOut(err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return Wrap(err, EUNAVAILABLE, "The server did not finish in time. Try again shortly.")
}

// RetryAfter returns how long a client should wait before trying err's
// request again: for EUNAVAILABLE, the error's RetryAfter or
// DefaultRetryAfter; 0 for anything else.
func RetryAfter(err error) time.Duration {
	var e *Error
	if !errors.As(err, &e) || e.Code != EUNAVAILABLE {
		return 0
	}
	if e.RetryAfter > 0 {
		return e.RetryAfter
	}
	return DefaultRetryAfter
}

// ErrorFields returns the field errors of the first *Error in err's chain.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Problems collects field errors during validation, so that a caller sees
// every problem with its input at once rather than one per round trip.
type Problems []FieldError

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, and otherwise an EINVALID
// *Error listing them all.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := p[0].Message
	if len(p) > 1 {
		msg = fmt.Sprintf("%d fields are invalid.", len(p))
	}
	return &Error{Code: EINVALID, Message: msg, Fields: p}
}

// HTTPStatus returns the HTTP status that answers an error with code, the
// same for the JSON API and the pages; an unknown code is a 500. EINVALID
// is 400, as the API has always answered it (the OpenAPI document lists
// it), for a form's field errors too.
func HTTPStatus(code string) int {
	switch code {
	case "":
		return 200
	case EINVALID:
		return 400 // Bad Request
	case EUNAUTHORIZED:
		return 401 // Unauthorized
	case EFORBIDDEN:
		return 403 // Forbidden
	case ENOTFOUND:
		return 404 // Not Found
	case ECONFLICT:
		return 409 // Conflict
	case ETOOLARGE:
		return 413 // Content Too Large
	case EIDEMPOTENCY:
		return 422 // Unprocessable Content, as draft-ietf-httpapi-idempotency-key-header asks
	case EANSWERLOST:
		return 422 // not to be retried: the request was applied
	case EPRECONDITION:
		return 428 // Precondition Required
	case ETOOMANY:
		return 429 // Too Many Requests
	case ENOTIMPLEMENTED:
		return 501 // Not Implemented
	case EUNAVAILABLE:
		return 503 // Service Unavailable, with Retry-After
	case ESTORAGEFULL:
		return 507 // Insufficient Storage
	}
	return 500
}
