package postgres_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/postgres"
	"github.com/vigil-ir/vigil/storetest"
)

// TestFaults runs the HTTP server on a store that reaches PostgreSQL
// through a TCP proxy which the test stops (connections refused and cut),
// freezes (bytes held, connections kept open, as a stalled server or a
// black-holed network does) and makes cut a connection right after it
// forwards a COMMIT. It checks that clients get 503 with Retry-After
// within the request's deadline, that the server recovers without a
// restart when the proxy does, that a commit whose answer was lost is
// reported as possibly applied, and that every write acknowledged with a
// 2xx is in the database afterwards, while one reported as not run is not.
func TestFaults(t *testing.T) {
	direct, dsn := mustOpenSchema(t) // the same schema, not through the proxy: to check what was stored
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	app := fmt.Sprintf("vigil-faults-%d", time.Now().UnixNano())
	q := u.Query()
	q.Set("application_name", app) // to find its sessions on the server
	u.RawQuery = q.Encode()
	db, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	const deadline = 2 * time.Second
	const margin = 2 * time.Second // for a loaded machine
	var logs bytes.Buffer
	var logMu sync.Mutex
	srv := vigilhttp.NewServer(db.Services(), slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil)))
	srv.Ready = db.Ready
	srv.StoreTimeout = deadline
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	s := &storetest.Store{Services: db.Services()}
	_, admin := storetest.MustCreateUser(t, s, vigil.RoleAdmin)
	sys := storetest.SystemContext(t)
	token, err := db.Services().Auth.CreateToken(sys, admin.ID, &vigil.Token{Name: "t", Scopes: vigil.Scopes})
	if err != nil {
		t.Fatal(err)
	}
	intakeToken, err := db.Services().Integrations.CreateIntegration(sys, &vigil.Integration{Name: "monitoring", Kind: "alertmanager"})
	if err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: time.Minute}
	type answer struct {
		status  int
		retry   string
		code    string
		detail  string
		took    time.Duration
		id      int64
		alertID int64
	}
	// doKeyed sends a request with an Idempotency-Key, unless key is "".
	doKeyed := func(method, path, bearer, body, key string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set(vigilhttp.IdempotencyKeyHeader, key)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, retry: resp.Header.Get("Retry-After"), took: time.Since(start)}
		if resp.StatusCode >= 400 && strings.HasPrefix(path, "/api/") {
			var p struct{ Code, Detail string }
			if err := json.Unmarshal(b, &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s: %d is not problem+json: %s", method, path, resp.StatusCode, b)
			}
			a.code, a.detail = p.Code, p.Detail
		} else if resp.StatusCode < 300 && strings.HasPrefix(path, "/api/") {
			var v struct {
				ID       int64   `json:"id"`
				AlertIDs []int64 `json:"alert_ids"`
			}
			json.Unmarshal(b, &v)
			a.id = v.ID
			if len(v.AlertIDs) > 0 {
				a.alertID = v.AlertIDs[0]
			}
		} else {
			a.detail = string(b)
		}
		return a
	}
	do := func(method, path, bearer, body string) answer {
		t.Helper()
		return doKeyed(method, path, bearer, body, "")
	}

	// Every incident acknowledged with 201, by title; every one answered
	// "nothing was changed".
	acked := map[string]int64{}
	var notRun []string
	var alertsAcked []int64
	var alertsNotRun []string // fingerprints
	n := 0
	create := func() answer {
		t.Helper()
		n++
		title := fmt.Sprintf("Fault test %d", n)
		a := do("POST", "/api/v1/incidents", token, `{"title":"`+title+`"}`)
		switch {
		case a.status == http.StatusCreated:
			acked[title] = a.id
		case strings.Contains(a.detail, "nothing was changed"):
			notRun = append(notRun, title)
		}
		return a
	}
	var mu sync.Mutex // n and the lists above, for concurrent requests
	alert := func() answer {
		t.Helper()
		mu.Lock()
		n++
		fp := fmt.Sprintf("f%d", n)
		mu.Unlock()
		a := do("POST", "/api/v1/intake/alertmanager", intakeToken,
			fmt.Sprintf(`{"alerts":[{"status":"firing","labels":{"alertname":"FaultTest%s"},"fingerprint":"%s"}]}`, fp, fp))
		mu.Lock()
		defer mu.Unlock()
		switch {
		case a.status == http.StatusOK && a.alertID != 0:
			alertsAcked = append(alertsAcked, a.alertID)
		case strings.Contains(a.detail, "nothing was changed"):
			alertsNotRun = append(alertsNotRun, fp)
		}
		return a
	}
	// unavailable checks a 503 with Retry-After, in time.
	unavailable := func(what string, a answer, within time.Duration) {
		t.Helper()
		if a.status != http.StatusServiceUnavailable || a.retry == "" || a.took > within {
			t.Errorf("%s: %d Retry-After %q after %v (%s); want 503 with Retry-After within %v", what, a.status, a.retry, a.took, a.detail, within)
			return
		}
		if strings.HasPrefix(what, "readyz") {
			return
		}
		if a.code != vigil.EUNAVAILABLE {
			t.Errorf("%s: code %q, want %q", what, a.code, vigil.EUNAVAILABLE)
		}
		t.Logf("%s: 503 after %v: %s", what, a.took.Round(time.Millisecond), a.detail)
	}
	readyz := func() answer {
		a := do("GET", "/readyz", token, "")
		if a.status == http.StatusServiceUnavailable {
			a.retry = "-" // /readyz is a probe: no Retry-After
		}
		return a
	}
	// recover retries f until it succeeds, as a client would.
	recoverWith := func(what string, f func() answer, ok int) {
		t.Helper()
		start := time.Now()
		for i := 0; ; i++ {
			a := f()
			if a.status == ok {
				t.Logf("%s: %d again after %v, %d tries", what, ok, time.Since(start).Round(time.Millisecond), i+1)
				return
			}
			if time.Since(start) > 30*time.Second || i > 200 {
				t.Fatalf("%s: still %d (%s) after %v", what, a.status, a.detail, time.Since(start))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("Baseline", func(t *testing.T) {
		for range 3 {
			if a := create(); a.status != http.StatusCreated {
				t.Fatalf("create: %d %s", a.status, a.detail)
			}
		}
		if a := alert(); a.status != http.StatusOK {
			t.Fatalf("intake: %d %s", a.status, a.detail)
		}
	})

	t.Run("Stopped", func(t *testing.T) {
		proxy.stop()
		unavailable("create, database refused", create(), deadline+margin)
		unavailable("intake, database refused", alert(), deadline+margin)
		unavailable("read, database refused", do("GET", fmt.Sprintf("/api/v1/incidents/%d", acked["Fault test 1"]), token, ""), deadline+margin)
		unavailable("readyz, database refused", readyz(), time.Second+margin)
		proxy.start()
		recoverWith("create after the database came back", create, http.StatusCreated)
		recoverWith("intake after the database came back", alert, http.StatusOK)
		recoverWith("readyz after the database came back", readyz, http.StatusOK)
	})

	t.Run("Frozen", func(t *testing.T) {
		alert() // the integration is now cached: the intake below reaches the writer without a read
		proxy.freeze()
		// The first alert's write is taken and stuck; the intake's batcher
		// writes one batch at a time, so those that come after it queue,
		// are withdrawn at their deadline, and say that nothing was
		// changed.
		first := make(chan answer, 1)
		go func() { first <- alert() }()
		time.Sleep(300 * time.Millisecond)
		var wg sync.WaitGroup
		var queued atomic.Int64
		for range 3 {
			wg.Go(func() {
				a := alert()
				if a.status != http.StatusServiceUnavailable || a.retry == "" || a.took > deadline+margin {
					t.Errorf("intake queued while frozen: %d Retry-After %q after %v", a.status, a.retry, a.took)
				}
				if strings.Contains(a.detail, "nothing was changed") {
					queued.Add(1)
				}
			})
		}
		a := <-first
		wg.Wait()
		unavailable("intake, database frozen", a, deadline+margin)
		// The stuck write was taken: it must not say that nothing was
		// changed. Which of the two honest answers it gets depends on
		// where in its transaction the freeze caught it (on a loaded
		// machine, before its COMMIT was sent).
		if a.detail != "The change may have been applied; retry with the same Idempotency-Key." &&
			a.detail != "The database did not answer in time. Try again shortly." {
			t.Errorf("frozen intake: %q, want that it may have been applied or that the database did not answer", a.detail)
		}
		if queued.Load() == 0 {
			t.Error("no intake queued behind the stuck one said that nothing was changed")
		}
		unavailable("create, database frozen", create(), deadline+margin)
		unavailable("readyz, database frozen", readyz(), time.Second+margin)
		// Several at once: each answers within its deadline, none waits
		// behind the others.
		var slow atomic.Int64
		for range 4 {
			wg.Go(func() {
				mu.Lock()
				n++
				title := fmt.Sprintf("Fault test %d", n)
				mu.Unlock()
				start := time.Now()
				req, _ := http.NewRequest("POST", ts.URL+"/api/v1/incidents", strings.NewReader(`{"title":"`+title+`"}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable || time.Since(start) > deadline+margin {
					slow.Add(1)
				}
			})
		}
		wg.Wait()
		if slow.Load() > 0 {
			t.Errorf("%d of 4 concurrent creates did not answer 503 within %v", slow.Load(), deadline+margin)
		}
		time.Sleep(deadline) // longer than a request's deadline: the writer gives its connection up
		proxy.thaw()
		recoverWith("create after the freeze", create, http.StatusCreated)
		recoverWith("intake after the freeze", alert, http.StatusOK)
		recoverWith("readyz after the freeze", readyz, http.StatusOK)
	})

	// The server ends every session of ours, as a restart does: requests
	// meet FATAL 57P01 or a closed connection and answer 503 (or succeed
	// on a new connection), never 500, and the next ones succeed.
	t.Run("Terminated", func(t *testing.T) {
		var ended int
		if err := direct.Read.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&ended); err != nil {
			t.Fatal(err)
		}
		if ended == 0 {
			t.Fatal("no session of the server's to end")
		}
		for i := range 3 {
			if a := create(); a.status != http.StatusCreated && (a.status != http.StatusServiceUnavailable || a.retry == "") {
				t.Errorf("create %d after %d sessions ended: %d Retry-After %q (%s)", i, ended, a.status, a.retry, a.detail)
			} else {
				t.Logf("create %d after %d sessions ended: %d after %v %s", i, ended, a.status, a.took.Round(time.Millisecond), a.detail)
			}
		}
		recoverWith("create after the sessions ended", create, http.StatusCreated)
		recoverWith("readyz after the sessions ended", readyz, http.StatusOK)
	})

	t.Run("CommitAnswerLost", func(t *testing.T) {
		proxy.cutAfterCommit()
		n++
		title := fmt.Sprintf("Fault test %d", n)
		a := do("POST", "/api/v1/incidents", token, `{"title":"`+title+`"}`)
		unavailable("create whose COMMIT answer was lost", a, deadline+margin)
		if want := "The change may have been applied; retry with the same Idempotency-Key."; a.detail != want {
			t.Errorf("detail = %q, want %q", a.detail, want)
		}
		select {
		case <-proxy.cutDone:
		case <-time.After(5 * time.Second):
			t.Fatal("the proxy cut no connection after a COMMIT")
		}
		// It was applied: the server had the COMMIT.
		var got int
		if err := direct.Read.QueryRow(`SELECT count(*) FROM incidents WHERE title = $1`, title).Scan(&got); err != nil || got != 1 {
			t.Errorf("incidents titled %q: %d, %v; want 1 (the COMMIT reached the server)", title, got, err)
		}
		recoverWith("create after the cut", create, http.StatusCreated)
	})

	// A create sent with an Idempotency-Key whose COMMIT reached the server
	// (Applied) or never did (NotApplied), its answer lost either way: the
	// client hears 503 "may have been applied" and retries with the same
	// key, as that answer tells it to. The retry must not make a second
	// incident when the first committed, and must make it when it did not.
	t.Run("RetryAfterCommitAnswerLost", func(t *testing.T) {
		for _, c := range []struct {
			name    string
			applied bool
		}{{"Applied", true}, {"NotApplied", false}} {
			t.Run(c.name, func(t *testing.T) {
				n++
				title := fmt.Sprintf("Fault test %d, retried", n)
				key, body := fmt.Sprintf("retry-%d", n), `{"title":"`+title+`"}`
				proxy.cutAtCommitOf([]byte(title), !c.applied)
				a := doKeyed("POST", "/api/v1/incidents", token, body, key)
				unavailable("keyed create whose COMMIT answer was lost", a, deadline+margin)
				if want := "The change may have been applied; retry with the same Idempotency-Key."; a.detail != want {
					t.Errorf("detail = %q, want %q", a.detail, want)
				}
				select {
				case <-proxy.cutDone:
				case <-time.After(5 * time.Second):
					t.Fatal("the proxy cut no connection at the create's COMMIT")
				}
				// Retry as a client would: again while told to wait (409
				// while the first still holds the key, 503).
				start := time.Now()
				for i := 0; a.status == http.StatusServiceUnavailable || a.status == http.StatusConflict || i == 0; i++ {
					if time.Since(start) > time.Minute {
						t.Fatalf("retry: still %d (%s) after %v", a.status, a.detail, time.Since(start))
					}
					if i > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					a = doKeyed("POST", "/api/v1/incidents", token, body, key)
				}
				if c.applied {
					if a.status != http.StatusUnprocessableEntity || a.code != vigil.EANSWERLOST {
						t.Errorf("retry after a commit that was applied: %d %q %s, want 422 %q", a.status, a.code, a.detail, vigil.EANSWERLOST)
					}
				} else if a.status != http.StatusCreated {
					t.Errorf("retry after a commit that never reached the server: %d %s, want 201", a.status, a.detail)
				} else {
					acked[title] = a.id
				}
				t.Logf("retry: %d %s", a.status, a.detail)
				var got int
				if err := direct.Read.QueryRow(`SELECT count(*) FROM incidents WHERE title = $1`, title).Scan(&got); err != nil || got != 1 {
					t.Errorf("incidents titled %q after the retry: %d, %v; want 1", title, got, err)
				}
			})
		}
		recoverWith("create after the retries", create, http.StatusCreated)
	})

	// Nothing acknowledged was lost; nothing reported as not run was done.
	for title, id := range acked {
		inc, err := direct.Services().Incidents.FindIncidentByID(sys, id)
		if err != nil || inc.Title != title {
			t.Errorf("incident %d %q, acknowledged with 201: %v", id, title, err)
		}
	}
	for _, title := range notRun {
		var got int
		if err := direct.Read.QueryRow(`SELECT count(*) FROM incidents WHERE title = $1`, title).Scan(&got); err != nil || got != 0 {
			t.Errorf("incident %q, answered \"nothing was changed\": %d stored, %v", title, got, err)
		}
	}
	for _, fp := range alertsNotRun {
		var got int
		if err := direct.Read.QueryRow(`SELECT count(*) FROM alerts WHERE fingerprint = $1`, fp).Scan(&got); err != nil || got != 0 {
			t.Errorf("alert %q, answered \"nothing was changed\": %d stored, %v", fp, got, err)
		}
	}
	for _, id := range alertsAcked {
		if _, err := direct.Services().Alerts.FindAlertByID(sys, id); err != nil {
			t.Errorf("alert %d, acknowledged with 200: %v", id, err)
		}
	}
	t.Logf("%d incidents and %d alerts acknowledged, all stored; %d incidents and %d alerts answered not run, none stored",
		len(acked), len(alertsAcked), len(notRun), len(alertsNotRun))
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), "level=ERROR msg=\"internal error\"") {
		t.Errorf("a store fault was logged as an internal error:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// tcpProxy forwards connections from its address to a target. It can be
// stopped (listener and connections closed: connection refused) and
// started again on the same address, frozen (bytes are held, connections
// stay open) and thawed, and told to cut the next connection that sends a
// COMMIT right after forwarding it, so that its answer is lost.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
	flowing      chan struct{} // closed while bytes flow
	cut          bool
	cutMarker    []byte // cut only a connection that sent these bytes before its COMMIT
	cutDrop      bool   // drop the COMMIT instead of forwarding it
	cutDone      chan struct{}
	wg           sync.WaitGroup
}

func startProxy(tb testing.TB, target string) *tcpProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}, flowing: make(chan struct{})}
	close(p.flowing)
	p.serve(ln)
	tb.Cleanup(func() {
		p.thaw()
		p.stop()
		done := make(chan struct{})
		go func() { p.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Error("the proxy's goroutines did not end")
		}
	})
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.handle(c) })
		}
	})
}

// stop closes the listener and every connection.
func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// start listens again on the same address.
func (p *tcpProxy) start() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		panic(fmt.Sprintf("proxy: listen on %s again: %v", p.addr, err))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(ln)
}

func (p *tcpProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
		p.flowing = make(chan struct{})
	default:
	}
}

func (p *tcpProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.flowing:
	default:
		close(p.flowing)
	}
}

func (p *tcpProxy) cutAfterCommit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.cutMarker, p.cutDrop, p.cutDone = true, nil, false, make(chan struct{})
}

// cutAtCommitOf is cutAfterCommit for the first COMMIT on a connection
// that sent marker since its previous COMMIT: the transaction that wrote
// it, not another write before it. With drop, the COMMIT is not forwarded
// either: the server rolls the transaction back when the connection goes.
func (p *tcpProxy) cutAtCommitOf(marker []byte, drop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.cutMarker, p.cutDrop, p.cutDone = true, marker, drop, make(chan struct{})
}

func (p *tcpProxy) handle(client net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		client.Close()
		up.Close()
		return
	}
	p.conns[client], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{})
	closeBoth := sync.OnceFunc(func() {
		close(done)
		client.Close()
		up.Close()
		p.mu.Lock()
		delete(p.conns, client)
		delete(p.conns, up)
		p.mu.Unlock()
	})
	var cutting atomic.Bool
	marked := false // this connection sent the cut's marker since its last COMMIT
	answered := make(chan struct{}, 1)
	p.wg.Go(func() { // server to client
		defer closeBoth()
		buf := make([]byte, 32<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				if !p.wait(done) {
					return
				}
				if cutting.Load() {
					select { // the answer to the COMMIT, dropped
					case answered <- struct{}{}:
					default:
					}
				} else if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	defer closeBoth()
	buf := make([]byte, 32<<10)
	for { // client to server
		n, err := client.Read(buf)
		if n > 0 {
			if !p.wait(done) {
				return
			}
			commit := bytes.Contains(buf[:n], []byte("COMMIT\x00"))
			var cutDone chan struct{}
			drop := false
			p.mu.Lock()
			if p.cut && p.cutMarker != nil && bytes.Contains(buf[:n], p.cutMarker) {
				marked = true
			}
			if commit && p.cut && (p.cutMarker == nil || marked) {
				p.cut, cutDone, drop = false, p.cutDone, p.cutDrop
			}
			p.mu.Unlock()
			if commit {
				marked = false
			}
			if cutDone != nil && drop {
				// The server never gets the COMMIT; nor does it hear back.
				close(cutDone)
				return
			}
			if cutDone != nil {
				cutting.Store(true)
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			if cutDone != nil {
				// The server has the COMMIT; its client never hears back.
				client.Close()
				select {
				case <-answered:
				case <-time.After(5 * time.Second):
				}
				close(cutDone)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait blocks while the proxy is frozen; false if the connection closed.
func (p *tcpProxy) wait(done chan struct{}) bool {
	p.mu.Lock()
	flowing := p.flowing
	p.mu.Unlock()
	select {
	case <-flowing:
		return true
	case <-done:
		return false
	}
}
