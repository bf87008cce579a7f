package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// decode reads one JSON object from the request body into v. Unknown fields,
// trailing data, wrong types and bad syntax are EINVALID naming the field;
// a body over the limit is 413; a wrong Content-Type is 415. (w is for
// http.MaxBytesReader, which closes the connection after an overlong body.)
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &Problem{Status: http.StatusUnsupportedMediaType, Detail: "Send the body as application/json."}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &Problem{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("The request body must be at most %d bytes.", maxErr.Limit)}
	} else if err != nil {
		return vigil.Invalid("body", "The request body could not be read.")
	}
	return decodeJSON(data, v)
}

// decodeJSON decodes exactly one JSON value from data into v, strictly,
// and returns field errors.
func decodeJSON(data []byte, v any) error {
	if !utf8.Valid(data) {
		return vigil.Invalid("body", "The body must be UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if path := badTimePath(data); path != "" {
			// time.Time's own errors carry no field path; find it.
			return vigil.Invalid(path, "Must be an RFC 3339 time such as 2026-03-01T09:30:00Z.")
		}
		return jsonError(err)
	}
	// Exactly one value: trailing data is a client bug worth reporting.
	if _, err := dec.Token(); err != io.EOF {
		return vigil.Invalid("body", "The body must hold exactly one JSON object.")
	}
	// A raw NUL cannot stand in a JSON string; only its escape can.
	if bytes.Contains(data, []byte(`\u0000`)) {
		if path := nulPath(data); path != "" {
			return vigil.Invalid(path, "Text must not contain NUL characters.")
		}
	}
	return nil
}

// badTimePath returns the path of the first member named *_at (Vigil's
// convention for times) whose value is neither null nor an RFC 3339 time.
func badTimePath(data []byte) string {
	return firstPath(data, func(key string, v any) bool {
		if !strings.HasSuffix(key, "_at") || v == nil {
			return false
		}
		str, ok := v.(string)
		_, err := time.Parse(time.RFC3339Nano, str)
		return !ok || err != nil
	})
}

// nulPath returns the path of the first string that holds a NUL character
// (which PostgreSQL refuses in text, and no field of Vigil's needs).
func nulPath(data []byte) string {
	return firstPath(data, func(_ string, v any) bool {
		s, ok := v.(string)
		return ok && strings.ContainsRune(s, 0)
	})
}

// firstPath returns the path ("times.aware_at", "observables[2].value") of
// the first value in data, members in key order, for which bad is true;
// key is the member's name ("" for an array's element).
func firstPath(data []byte, bad func(key string, v any) bool) string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	var walk func(prefix, key string, v any) string
	walk = func(prefix, key string, v any) string {
		if bad(key, v) {
			return prefix
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				path := k
				if prefix != "" {
					path = prefix + "." + k
				}
				if p := walk(path, k, x[k]); p != "" {
					return p
				}
			}
		case []any:
			for i, val := range x {
				if p := walk(fmt.Sprintf("%s[%d]", prefix, i), "", val); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk("", "", v)
}

// jsonError turns a decoding error into a field error.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return vigil.Invalid("body", "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return vigil.Invalid("body", "The JSON body ends too soon.")
	case errors.As(err, &syn):
		return vigil.Invalid("body", "Malformed JSON at byte %d.", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return vigil.Invalid(field, "Must be %s, not a JSON %s.", describeType(typ.Type.String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the message format
		// has been stable since Go 1.10.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return vigil.Invalid(name, "Unknown field %q.", name)
	}
	return vigil.Invalid("body", "The body is not valid JSON for this request.")
}

func describeType(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string", strings.HasPrefix(t, "vigil."):
		return "a string"
	case t == "time.Time":
		return "an RFC 3339 time string"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"):
		return "an object"
	}
	return "another type"
}

// json writes v as JSON with status.
func (s *Server) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.Logger.Warn("write json", "err", err)
	}
}
