package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
)

// Idempotent retries (draft-ietf-httpapi-idempotency-key-header): the
// routes that create something take an Idempotency-Key header, and a
// retry with the same key and the same request gets the first answer
// again, with Idempotent-Replayed: true, instead of a second incident. See
// docs/operations.md, "Idempotent retries".

// IdempotencyKeyHeader carries a client's idempotency key.
const IdempotencyKeyHeader = "Idempotency-Key"

// ReplayedHeader marks an answer given again to a retry.
const ReplayedHeader = "Idempotent-Replayed"

// keptHeaders are the response headers an answer is replayed with. The
// others are the retry's own: its request ID, the security headers.
var keptHeaders = []string{"Content-Type", "Cache-Control", "Location", "Content-Location", "ETag", "Last-Modified", "Repr-Digest"}

// Bounds on reading a body only to fingerprint it.
const (
	// leftoverLimit is how much of a body its handler left unread is read
	// after it: a handler that stopped early refused the request, and a
	// refusal is kept only if the rest of the body is this short.
	leftoverLimit = 1 << 20
	// retrySlack is how much longer than the first request a retry may be
	// and still be read to compare: a multipart body's boundaries differ
	// in length from one attempt to the next.
	retrySlack = 64 << 10
)

// parseIdempotencyKey reads the header's one value: a structured-field
// string ("…", with \" and \\ escaped; parameters after it are ignored),
// as the draft defines it, or the bare key, as most clients send it.
func parseIdempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", vigil.Invalid(IdempotencyKeyHeader, "Send one Idempotency-Key.")
	}
	v := strings.TrimSpace(values[0])
	if !strings.HasPrefix(v, `"`) {
		return v, vigil.ValidIdempotencyKey(v)
	}
	bad := vigil.Invalid(IdempotencyKeyHeader, "The Idempotency-Key is not a well-formed string.")
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			if i+1 == len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", bad
			}
			i++
			b.WriteByte(v[i])
		case c == '"':
			if rest := strings.TrimSpace(v[i+1:]); rest != "" && rest[0] != ';' {
				return "", bad
			}
			return b.String(), vigil.ValidIdempotencyKey(b.String())
		case c < 0x20 || c > 0x7e:
			return "", bad
		default:
			b.WriteByte(c)
		}
	}
	return "", bad // no closing quote
}

// keepAnswer says whether an answer is kept for retries: successes and
// refusals, but not the answers that themselves say "try again" (401, 408,
// 409, 423, 425, 429), and no server error, so that a retry runs the
// request again: unless a write of the request committed, which marked the
// key in its transaction, and a retry is told so (vigil.AnswerLost).
func keepAnswer(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusConflict, http.StatusLocked, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return status < 500
}

// idempotent makes h, a route that creates something, honour
// Idempotency-Key; fail writes its own errors (problem details for the
// API, TAXII's error messages). The key is reserved in its own write
// before h runs, so of two requests racing with one key, on one instance
// or two, one runs and the other is answered 409. h runs with the claim in
// its context, so each write it makes marks the key in the write's own
// transaction: when the answer to a COMMIT is lost (503 "may have been
// applied"), a retry finds the key applied if it was, and runs the request
// if it was not, never both. The answer is recorded before it is sent, so
// a retry after it finds it; it is replayed only to an actor who still
// holds the permissions it held (vigil.IdempotentAnswer.Replays). Requests
// without a key, or without an actor (h refuses them), pass straight
// through.
func (s *Server) idempotent(h http.HandlerFunc, fail func(http.ResponseWriter, *http.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		values := r.Header.Values(IdempotencyKeyHeader)
		if len(values) == 0 || s.Services.Idempotency == nil || vigil.ActorFromContext(r.Context()) == nil {
			h(w, r)
			return
		}
		key, err := parseIdempotencyKey(values)
		if err != nil {
			fail(w, r, err)
			return
		}
		// The store calls outlive a client that goes away: the work its
		// request did must still be recorded for its retry.
		ctx := context.WithoutCancel(r.Context())
		k := vigil.IdempotencyKey{Target: r.Method + " " + r.URL.Path, Key: key}
		body := newBodyPrint(r)
		defer body.close()
		token, answer, err := s.Services.Idempotency.ReserveKey(r.Context(), k)
		switch {
		case vigil.ErrorCode(err) == vigil.ECONFLICT:
			w.Header().Set("Retry-After", "1")
			fail(w, r, err)
			return
		case err != nil:
			fail(w, r, err)
			return
		case answer != nil:
			fp, _, ok := body.finish(answer.RequestSize + retrySlack)
			if !ok {
				fp = "" // longer than the first request, or unreadable: not the same
			}
			if err := answer.Replays(vigil.ActorFromContext(r.Context()), fp); err != nil {
				fail(w, r, err)
				return
			}
			replay(w, answer)
			return
		}

		stop := s.holdKey(ctx, k, token)
		settled := false
		defer func() {
			if !settled { // h panicked: the request did not finish
				stop()
				s.releaseKey(ctx, k, token)
			}
		}()
		rec := &answerRecorder{ResponseWriter: w}
		claimed := r.WithContext(vigil.NewContextWithIdempotencyClaim(r.Context(), k, token))
		claimed.Body = body
		h(rec, claimed)
		stop()
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		fp, size, ok := body.finish(leftoverLimit)
		if ok && keepAnswer(status) {
			a := &vigil.IdempotentAnswer{Fingerprint: fp, RequestSize: size, Status: status, Header: map[string]string{}, Body: rec.body.Bytes(),
				Grants: vigil.IdempotencyGrants(vigil.ActorFromContext(r.Context()))}
			for _, name := range keptHeaders {
				if v := w.Header().Get(name); v != "" {
					a.Header[name] = v
				}
			}
			if err := s.Services.Idempotency.CompleteKey(ctx, k, token, a); err != nil {
				// The answer goes out all the same; a retry runs again,
				// or is told the request was applied if it wrote.
				s.Logger.WarnContext(r.Context(), "record idempotent answer", "err", err, "route", k.Target,
					"request_id", vigil.RequestIDFromContext(r.Context()))
				s.releaseKey(ctx, k, token)
			}
		} else {
			s.releaseKey(ctx, k, token)
		}
		settled = true
		rec.send(status)
	}
}

// releaseKey gives the key up for a retry to run the request again; if a
// write of the request committed, the key stays, and a retry is told so.
// It has a deadline of its own: after a commit whose outcome is unknown,
// the transaction may still hold the key's row on PostgreSQL until the
// server ends it, and the release must not hold every write behind it.
func (s *Server) releaseKey(ctx context.Context, k vigil.IdempotencyKey, token string) {
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	defer cancel()
	if err := s.Services.Idempotency.ReleaseKey(ctx, k, token); err != nil {
		// Its lease runs out soon anyway.
		s.Logger.WarnContext(ctx, "release idempotency key", "err", err, "route", k.Target)
	}
}

// holdKey renews the reservation while its request runs (a long upload),
// until stop is called.
func (s *Server) holdKey(ctx context.Context, k vigil.IdempotencyKey, token string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(vigil.IdempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := s.Services.Idempotency.ExtendKey(ctx, k, token); err != nil {
					s.Logger.WarnContext(ctx, "extend idempotency key", "err", err, "route", k.Target)
					return
				}
			}
		}
	})
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

// replay writes an answer again.
func replay(w http.ResponseWriter, a *vigil.IdempotentAnswer) {
	h := w.Header()
	for name, v := range a.Header {
		h.Set(name, v)
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(a.Status)
	w.Write(a.Body)
}

// answerRecorder holds a handler's answer until it is recorded. Headers go
// to the real writer at once (the recorder shares its map); the status and
// the body wait for send.
type answerRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *answerRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *answerRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// send writes the recorded answer.
func (w *answerRecorder) send(status int) {
	w.ResponseWriter.WriteHeader(status)
	w.ResponseWriter.Write(w.body.Bytes())
}

// bodyPrint fingerprints a request body as its handler reads it, holding
// none of it: the SHA-256 of its bytes, with its media type; for a
// multipart/form-data body, of its parts (names, file names, types and
// contents) instead, since a client retrying an upload makes a new random
// boundary (curl does at each run) and the bytes differ.
type bodyPrint struct {
	body  io.ReadCloser
	media string
	raw   hash.Hash // unless multipart
	n     int64
	err   error // the first read error, io.EOF at the end
	parts *partPrint
}

func newBodyPrint(r *http.Request) *bodyPrint {
	b := &bodyPrint{body: r.Body, raw: sha256.New()}
	if b.body == nil {
		b.body = http.NoBody
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		b.media = mt
		if mt == "multipart/form-data" && params["boundary"] != "" {
			b.parts = newPartPrint(params["boundary"])
		}
	}
	return b
}

func (b *bodyPrint) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.body.Read(p)
	if b.parts != nil {
		b.parts.pw.Write(p[:n])
	} else {
		b.raw.Write(p[:n])
	}
	b.n += int64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *bodyPrint) Close() error { return b.body.Close() }

// finish reads what is left of the body, up to limit bytes more, and
// returns the fingerprint and the body's length; ok is false if the body
// could not be read to its end.
func (b *bodyPrint) finish(limit int64) (fp string, n int64, ok bool) {
	if b.err == nil {
		m, err := io.Copy(io.Discard, io.LimitReader(b, limit))
		if err == nil && m == limit {
			var one [1]byte
			if k, _ := b.Read(one[:]); k > 0 {
				err = errors.New("too long")
			}
		}
		if err != nil && b.err == nil {
			b.err = err
		}
	}
	if b.err != io.EOF {
		b.close()
		return "", b.n, false
	}
	if b.parts == nil {
		return b.media + " sha256:" + hex.EncodeToString(b.raw.Sum(nil)), b.n, true
	}
	if sum := b.close(); sum != nil {
		return b.media + " parts-sha256:" + hex.EncodeToString(sum), b.n, true
	}
	return "", b.n, false // a malformed multipart body, which its handler refused
}

// close stops the part reader, if any, and returns its fingerprint (nil
// if the body did not parse as multipart to its end).
func (b *bodyPrint) close() []byte {
	if b.parts == nil {
		return nil
	}
	p := b.parts
	b.parts = nil
	p.pw.Close()
	<-p.done
	return p.sum
}

// partPrint hashes a multipart body's parts in a goroutine fed through a
// pipe by bodyPrint.Read.
type partPrint struct {
	pw   *io.PipeWriter
	done chan struct{}
	sum  []byte
}

func newPartPrint(boundary string) *partPrint {
	pr, pw := io.Pipe()
	p := &partPrint{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer io.Copy(io.Discard, pr) // what follows the end, or a malformed rest
		h := sha256.New()
		field := func(s string) {
			binary.Write(h, binary.BigEndian, uint32(len(s)))
			h.Write([]byte(s))
		}
		mr := multipart.NewReader(pr, boundary)
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				p.sum = h.Sum(nil)
				return
			} else if err != nil {
				return
			}
			field(part.FormName())
			field(part.FileName())
			field(part.Header.Get("Content-Type"))
			ph := sha256.New()
			if _, err := io.Copy(ph, part); err != nil {
				return
			}
			h.Write(ph.Sum(nil))
		}
	}()
	return p
}
