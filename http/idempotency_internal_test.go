package http

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestParseIdempotencyKey(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{` "spaced out" `, "spaced out"},
		{`"say \"hi\" \\ bye"`, `say "hi" \ bye`},
		{`"with";param=1`, "with"},
		{"bare with space", "bare with space"},
	} {
		got, err := parseIdempotencyKey([]string{c.in})
		if got != c.want || err != nil {
			t.Errorf("parseIdempotencyKey(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range [][]string{{""}, {`""`}, {`"open`}, {`"a"b`}, {`"\n"`}, {`"a\"`}, {"a", "b"}, {"caf\u00e9"}, {`"caf` + "\u00e9" + `"`},
		{strings.Repeat("k", 256)}} {
		_, err := parseIdempotencyKey(in)
		if vigil.ErrorCode(err) != vigil.EINVALID || len(vigil.ErrorFields(err)) != 1 || vigil.ErrorFields(err)[0].Field != IdempotencyKeyHeader {
			t.Errorf("parseIdempotencyKey(%q) = %v, want EINVALID naming the header", in, err)
		}
	}
}

func TestKeepAnswer(t *testing.T) {
	for status, want := range map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 403: true, 404: true, 412: true, 413: true, 422: true,
		401: false, 408: false, 409: false, 423: false, 425: false, 429: false, 500: false, 503: false} {
		if got := keepAnswer(status); got != want {
			t.Errorf("keepAnswer(%d) = %v, want %v", status, got, want)
		}
	}
}

// fingerprint reads body through a bodyPrint as a handler would (part of
// it, then the rest at the end).
func fingerprint(t *testing.T, contentType string, body []byte, readFirst int) (string, bool) {
	t.Helper()
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	b := newBodyPrint(r)
	if _, err := io.CopyN(io.Discard, b, int64(readFirst)); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	fp, n, ok := b.finish(leftoverLimit)
	if ok && n != int64(len(body)) {
		t.Errorf("length %d, want %d", n, len(body))
	}
	return fp, ok
}

func TestBodyPrint(t *testing.T) {
	multi := func(fields ...string) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			w.WriteField(fields[i], fields[i+1])
		}
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}
	json := []byte(`{"title":"Phishing"}`)
	a, _ := fingerprint(t, "application/json", json, 0)
	b, _ := fingerprint(t, "application/json; charset=utf-8", json, 5)
	if a != b || !strings.HasPrefix(a, "application/json sha256:") {
		t.Errorf("the same JSON body: %q and %q", a, b)
	}
	if c, _ := fingerprint(t, "application/json", []byte(`{"title":"Phishing!"}`), 0); c == a {
		t.Errorf("another body has the same fingerprint")
	}
	if c, _ := fingerprint(t, "text/plain", json, 0); c == a {
		t.Errorf("another media type has the same fingerprint")
	}

	ct1, m1 := multi("description", "mail", "file", "From: ceo")
	ct2, m2 := multi("description", "mail", "file", "From: ceo")
	if bytes.Equal(m1, m2) {
		t.Fatal("want different boundaries")
	}
	p1, ok1 := fingerprint(t, ct1, m1, 10)
	p2, ok2 := fingerprint(t, ct2, m2, len(m2))
	if !ok1 || !ok2 || p1 != p2 || !strings.Contains(p1, "parts-sha256:") {
		t.Errorf("the same parts under two boundaries: %q (%v), %q (%v)", p1, ok1, p2, ok2)
	}
	// Field boundaries count: "ab"+"c" is not "a"+"bc".
	ct3, m3 := multi("description", "mailF", "file", "rom: ceo")
	if p3, _ := fingerprint(t, ct3, m3, 0); p3 == p1 {
		t.Errorf("parts split elsewhere have the same fingerprint")
	}
	// A malformed multipart body has no fingerprint: its refusal is not kept.
	if _, ok := fingerprint(t, ct1, m1[:len(m1)/2], 0); ok {
		t.Errorf("a truncated multipart body has a fingerprint")
	}
	// A body longer than the handler read plus the limit has none either.
	long := bytes.Repeat([]byte("x"), leftoverLimit+10)
	if _, ok := fingerprint(t, "application/json", long, 5); ok {
		t.Errorf("a body whose rest is over the limit has a fingerprint")
	}
	if _, ok := fingerprint(t, "application/json", long, 20); !ok {
		t.Errorf("a body whose rest is within the limit has no fingerprint")
	}
}

func TestAnswerRecorder(t *testing.T) {
	w := httptest.NewRecorder()
	rec := &answerRecorder{ResponseWriter: w}
	rec.Header().Set("Location", "/x")
	rec.WriteHeader(http.StatusCreated)
	rec.WriteHeader(http.StatusOK) // ignored, as net/http does
	rec.Write([]byte("body"))
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Location") != "/x" {
		t.Errorf("before send: %d %q %v", w.Code, w.Body, w.Header())
	}
	rec.send(rec.status)
	if w.Code != http.StatusCreated || w.Body.String() != "body" {
		t.Errorf("after send: %d %q", w.Code, w.Body)
	}
}
