package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/internal/sqlitetest"
	"github.com/vigil-ir/vigil/sqlite"
)

func TestMain(m *testing.M) {
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	os.Exit(m.Run())
}

// env is a server on a real SQLite store, with a client that validates
// every request and response against the server's own OpenAPI document.
type env struct {
	t      *testing.T
	srv    *vigilhttp.Server
	ts     *httptest.Server
	svc    vigil.Services
	router routers.Router
	// evidenceDir is the blob store's folder.
	evidenceDir string
	db          *sqlite.DB
}

var (
	routerOnce sync.Once
	router     routers.Router
	routerErr  error
	docOnce    sync.Once
	doc        *openapi3.T
	docErr     error
)

// newEnv starts a server on a fresh store; wrap, if given, may replace
// services with wrappers before the server takes them.
func newEnv(t *testing.T, wrap ...func(*vigil.Services)) *env {
	t.Helper()
	db, err := sqlite.Open(t.Context(), sqlitetest.FreshFile(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	evidenceDir := t.TempDir()
	if db.Blobs, err = blob.Open(evidenceDir); err != nil {
		t.Fatal(err)
	}
	svc := db.Services()
	for _, f := range wrap {
		f(&svc)
	}
	srv := vigilhttp.NewServer(svc, nil)
	srv.Metrics = vigilhttp.NewMetrics()
	db.Observe = srv.Metrics.ObserveStore
	srv.Ready = db.Ping
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e := &env{t: t, srv: srv, ts: ts, svc: db.Services(), evidenceDir: evidenceDir, db: db}
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, docErr = loader.LoadFromData(srv.OpenAPI())
		if docErr == nil {
			docErr = doc.Validate(loader.Context)
		}
	})
	if docErr != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", docErr)
	}
	// One router for every test server: it matches on the path, whatever
	// the host and port (building one per server is most of a fixture's
	// cost under the race detector).
	routerOnce.Do(func() {
		d := *doc
		d.Servers = openapi3.Servers{{URL: "/"}}
		router, routerErr = gorillamux.NewRouter(&d)
	})
	if routerErr != nil {
		t.Fatal(routerErr)
	}
	e.router = router
	return e
}

// user creates a user with role and returns an API token for it, with the
// read and write scopes (and admin for admins).
func (e *env) user(role vigil.Role) (string, *vigil.User) {
	e.t.Helper()
	ctx := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	u := &vigil.User{Username: string(role) + "-" + strings.ReplaceAll(strings.ToLower(e.t.Name()), "/", "-"), Role: role}
	u.Username = trimUsername(u.Username)
	if err := e.svc.Users.CreateUser(ctx, u, "correct horse battery staple"); err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	scopes := []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}
	if role == vigil.RoleAdmin {
		scopes = append(scopes, vigil.ScopeAdmin)
	}
	secret, err := e.svc.Auth.CreateToken(ctx, u.ID, &vigil.Token{Name: "test", Scopes: scopes})
	if err != nil {
		e.t.Fatalf("create token: %v", err)
	}
	return secret, u
}

var userN struct {
	sync.Mutex
	n int
}

func trimUsername(s string) string {
	userN.Lock()
	userN.n++
	n := userN.n
	userN.Unlock()
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 50 {
		out = out[:50]
	}
	return out + "-" + itoa(n)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// response is what a request got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes a problem body.
func (r *response) Problem(t *testing.T) vigilhttp.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (body %s)", ct, r.Body)
	}
	var p vigilhttp.Problem
	r.JSON(t, &p)
	return p
}

// req describes a request.
type req struct {
	Method, Path string
	Token        string
	Body         any // marshalled as JSON unless it is a string or []byte (sent raw) or a form
	Header       map[string]string
	// Raw skips request validation: for requests that break the contract on
	// purpose. Responses are validated always.
	Raw bool
}

// do sends r and validates request and response against the OpenAPI document.
func (e *env) do(r req) *response {
	e.t.Helper()
	var body []byte
	contentType := "application/json"
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	case form:
		body = b.data
		contentType = b.contentType
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	hr, err := http.NewRequest(r.Method, e.ts.URL+r.Path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", contentType)
	}
	if r.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	route, params, rerr := e.router.FindRoute(hr)
	var in *openapi3filter.RequestValidationInput
	if rerr == nil {
		in = &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
		if !r.Raw {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				e.t.Errorf("%s %s: request breaks the OpenAPI document: %v", r.Method, r.Path, err)
			}
		}
		hr.Body = io.NopCloser(bytes.NewReader(body)) // validation read it
	} else if !r.Raw {
		e.t.Errorf("%s %s: not in the OpenAPI document: %v", r.Method, r.Path, rerr)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, Header: resp.Header}
	if out.Body, err = io.ReadAll(resp.Body); err != nil {
		e.t.Fatal(err)
	}
	if in != nil {
		rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: in.Options}
		rv.SetBodyBytes(out.Body)
		if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
			e.t.Errorf("%s %s -> %d: response breaks the OpenAPI document: %v\n%s", r.Method, r.Path, resp.StatusCode, err, truncate(out.Body))
		}
	}
	return out
}

// form is a multipart/form-data body.
type form struct {
	contentType string
	data        []byte
}

// upload returns a multipart body of fields (in order, name then value)
// followed by a part named file holding content.
func upload(filename, content string, fields ...string) form {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	if filename != "" || content != "" {
		fw, _ := w.CreateFormFile("file", filename)
		io.WriteString(fw, content)
	}
	w.Close()
	return form{contentType: w.FormDataContentType(), data: b.Bytes()}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// want fails the test unless the response has the status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, truncate(r.Body))
	}
	return r
}

// ownPassword makes password the user's own choice, as if they had
// changed the one an administrator gave them (which they must, issue 21),
// so that a test may go on signing in with it.
func (e *env) ownPassword(username, password string) {
	e.t.Helper()
	sys := vigil.NewContextWithActor(context.Background(), vigil.SystemActor("test"))
	u, err := e.svc.Users.FindUserByUsername(sys, username)
	if err != nil {
		e.t.Fatal(err)
	}
	self := vigil.NewContextWithActor(context.Background(), &vigil.Actor{UserID: u.ID, Username: u.Username})
	for _, step := range [][2]string{{password, password + " #2"}, {password + " #2", password}} {
		if err := e.svc.Users.SetPassword(self, u.ID, step[0], step[1]); err != nil {
			e.t.Fatal(err)
		}
	}
}
