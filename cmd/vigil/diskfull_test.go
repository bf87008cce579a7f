package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// TestDiskFull runs the server with its data folder (the SQLite files and
// the evidence folder) on a 16 MiB tmpfs, fills the file system, and
// checks what clients and operators see: API writes, page posts and
// evidence uploads answer 507 with a clear message; reads go on; /readyz
// answers 503; the episode is logged once at error level and shown in the
// metrics. Then it frees the space and checks that all of it recovers by
// itself, without a restart, and that every write acknowledged is stored.
//
// It needs to mount a tmpfs (root, or CAP_SYS_ADMIN) and skips where the
// machine refuses; sqlite's TestDatabaseFull covers the store's side on
// every machine, with a size limit SQLite enforces itself.
func TestDiskFull(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=16m,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): run as root to test a full disk; sqlite's TestDatabaseFull covers SQLITE_FULL", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(data, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", data, err)
		}
	})
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	var logs lockedBuffer
	m := &Main{
		Config: ServeConfig{Config: Config{Data: data}, Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() }) // before the unmount
	base := m.HTTPServer.URL()
	secret, err := m.Store.Services().Auth.CreateToken(cliContext(t.Context()), 1,
		&vigil.Token{Name: "t", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite, vigil.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path, contentType string, body io.Reader) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		req.Header.Set("Authorization", "Bearer "+secret)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	var stored []int64 // incidents acknowledged with 201
	create := func(title string) (*http.Response, []byte) {
		t.Helper()
		resp, b := call("POST", "/api/v1/incidents", "application/json", strings.NewReader(`{"title":"`+title+`","summary":"`+strings.Repeat("s", 1500)+`"}`))
		if resp.StatusCode == http.StatusCreated {
			var inc vigil.Incident
			if err := json.Unmarshal(b, &inc); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, inc.ID)
		}
		return resp, b
	}
	if resp, b := create("Before the disk filled"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	first := stored[0]

	// Fill the file system.
	filler := filepath.Join(data, "filler")
	fillDisk(t, filler)

	// untilFull repeats a write until it answers 507, filling again what
	// a failed write gave back in between: the first few may still fit in
	// pages SQLite or the file system had at hand.
	untilFull := func(write func() (*http.Response, []byte)) (resp *http.Response, body []byte) {
		t.Helper()
		for range 50 {
			if resp, body = write(); resp.StatusCode == http.StatusInsufficientStorage {
				break
			}
			fillDisk(t, filler)
		}
		return resp, body
	}
	// Writes: 507 with a clear message.
	i := 0
	resp, body := untilFull(func() (*http.Response, []byte) { i++; return create(fmt.Sprintf("While full %d", i)) })
	if resp.StatusCode != http.StatusInsufficientStorage {
		t.Fatalf("create on a full disk: %d %s, want 507", resp.StatusCode, body)
	}
	var p struct{ Code, Detail string }
	if err := json.Unmarshal(body, &p); err != nil || p.Code != vigil.ESTORAGEFULL || !strings.Contains(p.Detail, "disk is full") {
		t.Errorf("problem = %s, want code %q and a message that says the disk is full", body, vigil.ESTORAGEFULL)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	// A page's form post: the error page, 507.
	form := url.Values{"title": {"From the page"}, "severity": {"medium"}}
	if resp, b := untilFull(func() (*http.Response, []byte) {
		return call("POST", "/incidents", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	}); resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(b), "disk is full") {
		t.Errorf("page post on a full disk: %d, want 507 saying the disk is full:\n%.400s", resp.StatusCode, b)
	}
	// An evidence upload: 507, for the evidence folder.
	if resp, b := untilFull(func() (*http.Response, []byte) {
		var up bytes.Buffer
		mw := multipart.NewWriter(&up)
		fw, _ := mw.CreateFormFile("file", "memory.img")
		fw.Write(bytes.Repeat([]byte("0123456789abcdef"), 4<<10)) // 64 KiB: read whole before the answer
		mw.Close()
		return call("POST", fmt.Sprintf("/api/v1/incidents/%d/evidence", first), mw.FormDataContentType(), &up)
	}); resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(b), "evidence folder") {
		t.Errorf("evidence upload on a full disk: %d %s, want 507 naming the evidence folder", resp.StatusCode, b)
	}
	// Reads go on, in the API and the pages.
	if resp, b := call("GET", fmt.Sprintf("/api/v1/incidents/%d", first), "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("read on a full disk: %d %s", resp.StatusCode, b)
	}
	if resp, _ := call("GET", fmt.Sprintf("/incidents/%d", first), "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("incident page on a full disk: %d", resp.StatusCode)
	}
	// /readyz says so; the metrics too.
	if resp, b := call("GET", "/readyz", "", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "disk full") {
		t.Errorf("/readyz on a full disk: %d %q, want 503 disk full", resp.StatusCode, b)
	}
	if _, b := call("GET", "/metrics", "", nil); !bytes.Contains(b, []byte(`vigil_storage_full{volume="database"} 1`)) ||
		!bytes.Contains(b, []byte(`vigil_storage_full{volume="evidence"} 1`)) {
		t.Errorf("metrics do not show both volumes full:\n%s", grepLines(b, "vigil_storage_full"))
	}
	// One more failing write is the same episode: logged once.
	create("Still full")
	if n := logs.count(`"level":"ERROR","msg":"disk full`, `"volume":"database"`); n != 1 {
		t.Errorf("disk-full errors logged for the database: %d, want 1:\n%s", n, logs.String())
	}
	if n := logs.count(`"level":"ERROR"`); n != 2 { // the database's and the evidence folder's
		t.Errorf("error lines: %d, want 2 (one per volume):\n%s", n, logs.String())
	}

	// Free the space: everything recovers by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for {
		resp, _ := call("GET", "/readyz", "", nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Since(freed) > 15*time.Second {
			t.Fatalf("/readyz still %d 15 s after space was freed", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready again %v after space was freed", time.Since(freed).Round(time.Millisecond))
	if resp, b := create("After space was freed"); resp.StatusCode != http.StatusCreated {
		t.Errorf("create after space was freed: %d %s", resp.StatusCode, b)
	}
	if _, b := call("GET", "/metrics", "", nil); !bytes.Contains(b, []byte(`vigil_storage_full{volume="database"} 0`)) ||
		!bytes.Contains(b, []byte(`vigil_storage_full_episodes_total{volume="database"} 1`)) {
		t.Errorf("metrics after recovery:\n%s", grepLines(b, "vigil_storage_full"))
	}
	if n := logs.count(`"msg":"disk has room again`); n != 2 {
		t.Errorf("recoveries logged: %d, want 2:\n%s", n, logs.String())
	}
	// Nothing acknowledged was lost.
	for _, id := range stored {
		if resp, b := call("GET", fmt.Sprintf("/api/v1/incidents/%d", id), "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("incident %d, acknowledged with 201: %d %s", id, resp.StatusCode, b)
		}
	}
	t.Logf("%d incidents acknowledged, all stored", len(stored))
}

// fillDisk appends to path until its file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := 0; i < 1<<14; i++ { // at most 1 GiB: the tmpfs is 16 MiB
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return
		}
	}
	t.Fatal("the file system did not fill")
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count counts the lines holding every one of subs.
func (l *lockedBuffer) count(subs ...string) int {
	n := 0
	for line := range strings.SplitSeq(l.String(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all && line != "" {
			n++
		}
	}
	return n
}

func grepLines(b []byte, sub string) string {
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
