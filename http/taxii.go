package http

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// TAXII 2.1 (OASIS Standard, 10 June 2021) under /taxii2/: discovery, one
// API root (/taxii2/api/), collections, objects, manifest, versions and
// status. Partners authenticate with their token (HTTP Basic: their name
// and the token; or Bearer); Vigil users with an API token.

// TAXIIMediaType is the media type of every TAXII 2.1 request and answer.
const TAXIIMediaType = "application/taxii+json;version=2.1"

// TAXIIMaxContentLength is the API root's max_content_length: 100 MiB.
const TAXIIMaxContentLength = 100 << 20

const taxiiRoot = "/taxii2/api/"

// errTAXIITooLarge refuses a request over the API root's max_content_length.
var errTAXIITooLarge = &taxiiProblem{http.StatusRequestEntityTooLarge, "Too large", fmt.Sprintf("The API root takes at most %d bytes.", TAXIIMaxContentLength)}

// taxiiBatch is how many objects of a POST are stored per transaction.
const taxiiBatch = 1000

func (s *Server) taxiiRoutes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /taxii2/{$}", s.taxiiDiscovery)
	m.HandleFunc("GET /taxii2/api/{$}", s.taxiiAPIRoot)
	m.HandleFunc("GET /taxii2/api/status/{sid}/{$}", s.writeTAXIIErrors(s.taxiiStatus))
	m.HandleFunc("GET /taxii2/api/collections/{$}", s.writeTAXIIErrors(s.taxiiCollections))
	m.HandleFunc("GET /taxii2/api/collections/{cid}/{$}", s.writeTAXIIErrors(s.taxiiCollection))
	m.HandleFunc("GET /taxii2/api/collections/{cid}/manifest/{$}", s.writeTAXIIErrors(s.taxiiManifest))
	m.HandleFunc("GET /taxii2/api/collections/{cid}/objects/{$}", s.writeTAXIIErrors(s.taxiiGetObjects))
	// Adding objects takes an Idempotency-Key, as the API's creates do.
	m.Handle("POST /taxii2/api/collections/{cid}/objects/{$}", Long(s.idempotent(s.writeTAXIIErrors(s.taxiiAddObjects), s.taxiiFail)))
	m.HandleFunc("GET /taxii2/api/collections/{cid}/objects/{oid}/{$}", s.writeTAXIIErrors(s.taxiiGetObject))
	m.HandleFunc("DELETE /taxii2/api/collections/{cid}/objects/{oid}/{$}", s.writeTAXIIErrors(s.taxiiDeleteObject))
	m.HandleFunc("GET /taxii2/api/collections/{cid}/objects/{oid}/versions/{$}", s.writeTAXIIErrors(s.taxiiVersions))
	// POST objects is an import, and marked Long; the other routes have
	// the deadline of every API call (see storeDeadline).
	s.mux.Handle("/taxii2/", nestedMux{Handler: s.taxiiGate(m), mux: m})
}

// taxiiGate does what every TAXII endpoint needs first: the trailing
// slash (clients that leave it off are redirected), authentication, and
// content negotiation.
func (s *Server) taxiiGate(m *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/") {
			u := *r.URL
			u.Path += "/"
			http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
			return
		}
		if !acceptsTAXII(r.Header.Get("Accept")) {
			taxiiError(w, http.StatusNotAcceptable, "Not acceptable", "Ask for "+TAXIIMediaType+".")
			return
		}
		a, err := s.taxiiActor(r)
		if err != nil {
			s.taxiiFail(w, r, err)
			return
		}
		if _, pattern := m.Handler(r); pattern == "" {
			r2 := r.Clone(r.Context())
			r2.Method = http.MethodGet
			if _, p := m.Handler(r2); p != "" {
				taxiiError(w, http.StatusMethodNotAllowed, "Method not allowed", "")
			} else {
				taxiiError(w, http.StatusNotFound, "Not found", "No such TAXII endpoint.")
			}
			return
		}
		m.ServeHTTP(w, r.WithContext(vigil.NewContextWithActor(r.Context(), a)))
	})
}

// taxiiActor authenticates a TAXII request: a partner's token (Basic, with
// the partner's name, or Bearer) or a Vigil user's API token.
func (s *Server) taxiiActor(r *http.Request) (*vigil.Actor, error) {
	ctx := r.Context()
	var name, token string
	if u, p, ok := r.BasicAuth(); ok {
		name, token = u, p
	} else if scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(t)
	}
	switch {
	case token == "":
		return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "Authenticate with HTTP Basic (your partner name and token) or a bearer token.")
	case strings.HasPrefix(token, vigil.PartnerTokenPrefix):
		return s.Services.Sharing.AuthenticatePartner(ctx, name, token)
	}
	a, err := s.Services.Auth.AuthenticateToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if a.MustChangePassword {
		return nil, errMustChange
	}
	return a, nil
}

// acceptsTAXII reports whether an Accept header admits TAXII 2.1 JSON: the
// media type with version 2.1 or none, or a wildcard. A missing header is
// taken as */*.
func acceptsTAXII(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok && (q == "0" || q == "0.0" || q == "0.000") {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			return true
		case "application/taxii+json", "application/vnd.oasis.taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

// taxiiError writes a TAXII error message resource.
func taxiiError(w http.ResponseWriter, status int, title, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Vigil TAXII", Bearer realm="Vigil TAXII"`)
	}
	body := map[string]any{"title": title, "http_status": strconv.Itoa(status)}
	if description != "" {
		body["description"] = description
	}
	taxiiJSON(w, status, body)
}

func taxiiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", TAXIIMediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// taxiiProblem is a TAXII error that no error code describes (413 with
// its own title, 415, 422), for a handler to return like any other.
type taxiiProblem struct {
	status             int
	title, description string
}

func (p *taxiiProblem) Error() string { return fmt.Sprintf("%d %s", p.status, p.description) }

// writeTAXIIErrors adapts a TAXII handler to net/http: the error it
// returns is written by taxiiFail, as TAXII's error message.
func (s *Server) writeTAXIIErrors(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.taxiiFail(w, r, err)
		}
	}
}

// taxiiFail writes err as a TAXII error message, with the status that
// vigil.HTTPStatus gives its code and that status's text as the title.
// Internal errors are logged, and their detail kept from the client.
func (s *Server) taxiiFail(w http.ResponseWriter, r *http.Request, err error) {
	if p, ok := errors.AsType[*taxiiProblem](err); ok {
		taxiiError(w, p.status, p.title, p.description)
		return
	}
	err = vigil.TimedOut(err)
	code := vigil.ErrorCode(err)
	status := vigil.HTTPStatus(code)
	if code == vigil.EUNAVAILABLE || code == vigil.ESTORAGEFULL {
		s.Logger.WarnContext(r.Context(), "store fault", "code", code, "err", err, "path", r.URL.Path,
			"request_id", vigil.RequestIDFromContext(r.Context()))
		SetRetryAfter(w, err)
	}
	if status == http.StatusInternalServerError {
		s.Logger.ErrorContext(r.Context(), "taxii", "path", r.URL.Path, "err", err)
		taxiiError(w, status, "Internal error", "")
		return
	}
	msg := vigil.ErrorMessage(err)
	if code == vigil.EINVALID {
		var parts []string
		for _, f := range vigil.ErrorFields(err) {
			parts = append(parts, f.Field+": "+f.Message)
		}
		if len(parts) > 0 {
			msg = strings.Join(parts, " ")
		}
	}
	title := http.StatusText(status) // "Not Found" is "Not found" in TAXII's examples
	taxiiError(w, status, title[:1]+strings.ToLower(title[1:]), msg)
}

// taxiiTime formats a TAXII timestamp: UTC, exactly six fractional digits.
func taxiiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func (s *Server) taxiiDiscovery(w http.ResponseWriter, r *http.Request) {
	taxiiJSON(w, http.StatusOK, map[string]any{
		"title":       "Vigil TAXII",
		"description": "Threat intelligence shared by this organisation with its invited partners.",
		"default":     taxiiRoot,
		"api_roots":   []string{taxiiRoot},
	})
}

func (s *Server) taxiiAPIRoot(w http.ResponseWriter, r *http.Request) {
	taxiiJSON(w, http.StatusOK, map[string]any{
		"title":              "Vigil",
		"description":        "Collections of STIX 2.1 objects.",
		"versions":           []string{TAXIIMediaType},
		"max_content_length": TAXIIMaxContentLength,
	})
}

type taxiiCollection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

func wireCollection(c *vigil.Collection) taxiiCollection {
	return taxiiCollection{ID: c.ID, Title: c.Title, Description: c.Description, CanRead: c.CanRead, CanWrite: c.CanWrite,
		MediaTypes: []string{stix.MediaType}}
}

func (s *Server) taxiiCollections(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Sharing.FindCollections(r.Context())
	if err != nil {
		return err
	}
	out := map[string]any{} // no collections: an empty object, not an empty list
	if len(list) > 0 {
		var cs []taxiiCollection
		for _, c := range list {
			cs = append(cs, wireCollection(c))
		}
		out["collections"] = cs
	}
	taxiiJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) taxiiCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Services.Sharing.FindCollection(r.Context(), r.PathValue("cid"))
	if err != nil {
		return err
	}
	taxiiJSON(w, http.StatusOK, wireCollection(c))
	return nil
}

// taxiiFilter reads the URL filtering parameters an endpoint takes. A
// parameter given twice, or malformed, is a 400.
func (s *Server) taxiiFilter(r *http.Request, allowed ...string) (vigil.ObjectFilter, error) {
	var f vigil.ObjectFilter
	var p vigil.Problems
	q := r.URL.Query()
	list := func(v string) []string {
		var out []string
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
		return out
	}
	for key, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || a == key
		}
		if !ok {
			continue // TAXII: servers may ignore fields they do not understand
		}
		if len(vs) > 1 {
			p.Add(key, "Give it once; separate several values with commas.")
			continue
		}
		v := vs[0]
		switch key {
		case "added_after":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				p.Add(key, "%q is not a timestamp such as 2026-11-30T09:15:00.000000Z.", v)
			}
			f.AddedAfter = &t
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				p.Add(key, "A positive whole number.")
			}
			f.Limit = n
		case "next":
			seq, err := s.parseNext(r.Context(), v)
			if err != nil {
				p.Add(key, "Not a next value this server gave.")
			}
			f.After = seq
		case "match[id]":
			f.IDs = list(v)
		case "match[type]":
			f.Types = list(v)
		case "match[version]":
			f.Versions = list(v)
			for _, x := range f.Versions {
				if x != "first" && x != "last" && x != "all" {
					if _, err := stix.ParseTimestamp(x); err != nil {
						p.Add(key, "%q is not first, last, all or a STIX timestamp.", x)
					}
				}
			}
		case "match[spec_version]":
			f.SpecVersions = list(v)
		}
	}
	return f, p.Err()
}

// The next value is the cursor (the last object's position in the whole
// store), sealed with AES-GCM under a key the instances share: clients
// cannot read it (a partner must not count what others add to other
// collections) nor forge one. The store applies the request's filters and
// the client's rights again with it, so even a replayed one reaches no
// further.
func (s *Server) nextAEAD(ctx context.Context) (cipher.AEAD, error) {
	s.nextMu.Lock()
	defer s.nextMu.Unlock()
	if s.nextGCM != nil {
		return s.nextGCM, nil
	}
	key, err := s.Services.Sharing.ServerKey(ctx, "taxii-next")
	if err != nil {
		return nil, err // tried again on the next request
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if s.nextGCM, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return s.nextGCM, nil
}

func (s *Server) formatNext(ctx context.Context, seq int64) (string, error) {
	aead, err := s.nextAEAD(ctx)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+8+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	var plain [8]byte
	binary.BigEndian.PutUint64(plain[:], uint64(seq))
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain[:], []byte("taxii-next-v2"))), nil
}

func (s *Server) parseNext(ctx context.Context, v string) (int64, error) {
	aead, err := s.nextAEAD(ctx)
	if err != nil {
		return 0, err
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < aead.NonceSize() {
		return 0, errors.New("bad next")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte("taxii-next-v2"))
	if err != nil || len(plain) != 8 {
		return 0, errors.New("bad next")
	}
	return int64(binary.BigEndian.Uint64(plain)), nil
}

func dateHeaders(w http.ResponseWriter, objs []*vigil.StoredObject) {
	if len(objs) == 0 {
		return // the standard says nothing for an empty page; an empty value would break clients
	}
	w.Header().Set("X-TAXII-Date-Added-First", taxiiTime(objs[0].DateAdded))
	w.Header().Set("X-TAXII-Date-Added-Last", taxiiTime(objs[len(objs)-1].DateAdded))
}

var objectParams = []string{"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"}

func (s *Server) findPage(r *http.Request, f vigil.ObjectFilter) (page *vigil.ObjectPage, next string, err error) {
	page, err = s.Services.Sharing.FindObjects(r.Context(), r.PathValue("cid"), f)
	if err != nil {
		return nil, "", err
	}
	if page.More {
		if next, err = s.formatNext(r.Context(), page.Next); err != nil {
			return nil, "", err
		}
	}
	return page, next, nil
}

// writeEnvelope writes objects as a TAXII envelope, copying each object's
// stored JSON as it is.
func writeEnvelope(w http.ResponseWriter, page *vigil.ObjectPage, next string) {
	dateHeaders(w, page.Objects)
	var b bytes.Buffer
	b.WriteByte('{')
	sep := ""
	if page.More {
		b.WriteString(`"more":true,"next":"` + next + `"`)
		sep = ","
	}
	if len(page.Objects) > 0 {
		b.WriteString(sep + `"objects":[`)
		for i, o := range page.Objects {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(o.Body)
		}
		b.WriteByte(']')
	}
	b.WriteString("}\n")
	w.Header().Set("Content-Type", TAXIIMediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

func (s *Server) taxiiGetObjects(w http.ResponseWriter, r *http.Request) error {
	f, err := s.taxiiFilter(r, objectParams...)
	if err != nil {
		return err
	}
	page, next, err := s.findPage(r, f)
	if err != nil {
		return err
	}
	writeEnvelope(w, page, next)
	return nil
}

func (s *Server) taxiiGetObject(w http.ResponseWriter, r *http.Request) error {
	f, err := s.taxiiFilter(r, "added_after", "limit", "next", "match[version]", "match[spec_version]")
	if err != nil {
		return err
	}
	f.IDs = []string{r.PathValue("oid")}
	page, next, err := s.findPage(r, f)
	if err != nil {
		return err
	}
	if len(page.Objects) == 0 && f.After == 0 && f.AddedAfter == nil {
		return vigil.Errorf(vigil.ENOTFOUND, "No such object in the collection.")
	}
	writeEnvelope(w, page, next)
	return nil
}

func (s *Server) taxiiManifest(w http.ResponseWriter, r *http.Request) error {
	f, err := s.taxiiFilter(r, objectParams...)
	if err != nil {
		return err
	}
	page, next, err := s.findPage(r, f)
	if err != nil {
		return err
	}
	type record struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	}
	out := map[string]any{}
	if page.More {
		out["more"], out["next"] = true, next
	}
	if len(page.Objects) > 0 {
		recs := make([]record, 0, len(page.Objects))
		for _, o := range page.Objects {
			recs = append(recs, record{o.ID, taxiiTime(o.DateAdded), stixVersion(o), stix.MediaType})
		}
		out["objects"] = recs
	}
	dateHeaders(w, page.Objects)
	taxiiJSON(w, http.StatusOK, out)
	return nil
}

// stixVersion formats an object's version as a STIX timestamp.
func stixVersion(o *vigil.StoredObject) string {
	return o.Version.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func (s *Server) taxiiVersions(w http.ResponseWriter, r *http.Request) error {
	f, err := s.taxiiFilter(r, "added_after", "limit", "next", "match[spec_version]")
	if err != nil {
		return err
	}
	f.IDs, f.Versions = []string{r.PathValue("oid")}, []string{"all"}
	page, next, err := s.findPage(r, f)
	if err != nil {
		return err
	}
	if len(page.Objects) == 0 && f.After == 0 && f.AddedAfter == nil {
		return vigil.Errorf(vigil.ENOTFOUND, "No such object in the collection.")
	}
	out := map[string]any{}
	if page.More {
		out["more"], out["next"] = true, next
	}
	if len(page.Objects) > 0 {
		vs := make([]string, 0, len(page.Objects))
		for _, o := range page.Objects {
			vs = append(vs, stixVersion(o))
		}
		out["versions"] = vs
	}
	dateHeaders(w, page.Objects)
	taxiiJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) taxiiDeleteObject(w http.ResponseWriter, r *http.Request) error {
	f, err := s.taxiiFilter(r, "match[version]", "match[spec_version]")
	if err != nil {
		return err
	}
	if err := s.Services.Sharing.DeleteObject(r.Context(), r.PathValue("cid"), r.PathValue("oid"), f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", TAXIIMediaType)
	w.WriteHeader(http.StatusOK)
	return nil
}

// taxiiStatusJSON is a status resource without empty lists (TAXII forbids
// them in place of an absent property).
func taxiiStatusJSON(st *vigil.TAXIIStatus) map[string]any {
	out := map[string]any{"id": st.ID, "status": st.Status, "request_timestamp": taxiiTime(st.RequestTimestamp),
		"total_count": st.TotalCount, "success_count": st.SuccessCount, "failure_count": st.FailureCount, "pending_count": st.PendingCount}
	for k, l := range map[string][]vigil.StatusDetail{"successes": st.Successes, "failures": st.Failures, "pendings": st.Pendings} {
		if len(l) > 0 {
			out[k] = l
		}
	}
	return out
}

func (s *Server) taxiiStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.Services.Sharing.FindStatus(r.Context(), r.PathValue("sid"))
	if err != nil {
		return err
	}
	taxiiJSON(w, http.StatusOK, taxiiStatusJSON(st))
	return nil
}

// taxiiAddObjects takes an envelope of objects. It is read as a stream and
// stored a batch at a time, so a large envelope (up to max_content_length)
// never sits whole in memory; a bad object is a failure in the status and
// does not stop the others.
func (s *Server) taxiiAddObjects(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cid := r.PathValue("cid")
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/taxii+json" || (params["version"] != "" && params["version"] != "2.1") {
		return &taxiiProblem{http.StatusUnsupportedMediaType, "Unsupported media type", "Send an envelope as " + TAXIIMediaType + "."}
	}
	c, err := s.Services.Sharing.FindCollection(ctx, cid)
	if err != nil {
		return err
	}
	if !c.CanWrite {
		return vigil.Errorf(vigil.EFORBIDDEN, "You may not add objects to this collection.")
	}
	if r.ContentLength > TAXIIMaxContentLength {
		return errTAXIITooLarge
	}
	body := http.MaxBytesReader(w, r.Body, TAXIIMaxContentLength)
	st, derr, err := AddBundle(ctx, s.Services.Sharing, cid, body)
	var tooBig *http.MaxBytesError
	switch {
	case err != nil:
		return err
	case errors.As(derr, &tooBig) && st == nil:
		return errTAXIITooLarge
	case derr != nil && st == nil:
		return &taxiiProblem{http.StatusUnprocessableEntity, "Unprocessable content", derr.Error()}
	}
	taxiiJSON(w, http.StatusAccepted, taxiiStatusJSON(st))
	return nil
}

// AddBundle streams a STIX bundle or TAXII envelope from r into a
// collection, a batch at a time, so no more than three batches are held
// in memory (one being read, one waiting, one being stored); refused objects are failures in the status. derr is what was
// wrong with the document itself: if nothing had been stored yet, st is
// nil and nothing is; otherwise the batches before it stay and the status
// names where it broke. err is the store's.
func AddBundle(ctx context.Context, svc vigil.SharingService, cid string, r io.Reader) (st *vigil.TAXIIStatus, derr, err error) {
	return addStream(ctx, svc, cid, func(fn func(int, json.RawMessage, *stix.Info, error) error) error { return stix.Decode(r, fn) }, false)
}

// ImportEnvelope stores the objects of a TAXII envelope as a feed page
// brings it (an empty envelope stores nothing and makes no status), and
// returns what the envelope said of more pages.
func ImportEnvelope(ctx context.Context, svc vigil.SharingService, cid string, r io.Reader) (st *vigil.TAXIIStatus, env stix.Envelope, derr, err error) {
	st, derr, err = addStream(ctx, svc, cid, func(fn func(int, json.RawMessage, *stix.Info, error) error) error {
		var e error
		env, e = stix.DecodeEnvelope(r, fn)
		return e
	}, true)
	return st, env, derr, err
}

func addStream(ctx context.Context, svc vigil.SharingService, cid string, decode func(func(int, json.RawMessage, *stix.Info, error) error) error,
	skipEmpty bool) (st *vigil.TAXIIStatus, derr, err error) {
	// Reading and storing overlap: one batch is stored while the next is
	// read and checked. A batch is stored once the next one is read, so
	// the store knows which is last: the others may commit without
	// waiting for the disk (vigil.DurableLater), and the last one's commit,
	// made before the answer, makes them all durable.
	work := make(chan []*vigil.IncomingObject)
	stored := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		var held []*vigil.IncomingObject
		holding := false
		store := func(b []*vigil.IncomingObject, c context.Context) {
			if err != nil {
				return // drain after a failure
			}
			var next *vigil.TAXIIStatus
			if next, err = svc.AddObjects(c, cid, b, st); err != nil {
				failed.Store(true)
				return
			}
			st = next
		}
		lazy := vigil.NewContextDurableLater(ctx)
		for b := range work {
			if holding {
				store(held, lazy)
			}
			held, holding = b, true
		}
		if holding {
			store(held, ctx)
		}
		stored <- err
	}()
	var batch []*vigil.IncomingObject
	sent := false
	derr = decode(func(i int, raw json.RawMessage, info *stix.Info, err error) error {
		if failed.Load() {
			return errStoreFailed
		}
		in := &vigil.IncomingObject{Raw: raw, Err: err}
		if info != nil {
			in.ID, in.Type, in.SpecVersion, in.Version, in.TLP = info.ID, info.Type, info.SpecVersion, info.Version, info.TLP
		} else {
			var o struct {
				ID string `json:"id"`
			}
			json.Unmarshal(raw, &o)
			in.ID = o.ID
			if in.ID == "" {
				in.ID = fmt.Sprintf("(object %d)", i)
			}
		}
		batch = append(batch, in)
		if len(batch) >= taxiiBatch {
			work <- batch
			batch, sent = nil, true
		}
		return nil
	})
	if derr == nil || sent {
		// A whole document, or one broken after batches were stored: what
		// was read is stored.
		if len(batch) > 0 || (!sent && !skipEmpty) {
			work <- batch
		}
	}
	close(work)
	if err := <-stored; err != nil {
		return st, nil, err
	}
	if errors.Is(derr, errStoreFailed) {
		return st, nil, errors.New("store failed") // not reached: the store's error is returned above
	}
	if derr != nil && !sent {
		return nil, derr, nil // not a bundle: nothing stored
	}
	if derr != nil {
		st.Failures = append(st.Failures, vigil.StatusDetail{ID: "(envelope)", Version: taxiiTime(st.RequestTimestamp), Message: derr.Error()})
		st.FailureCount++
		st.TotalCount++
		if st, err = svc.AddObjects(ctx, cid, nil, st); err != nil { // keep the failure in the stored status
			return st, derr, err
		}
	}
	return st, derr, nil
}

var errStoreFailed = errors.New("the store failed")
