package anchor_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
)

func mustKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func pub(key ed25519.PrivateKey) ed25519.PublicKey { return key.Public().(ed25519.PublicKey) }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var at = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func TestCheckpointRoundTrip(t *testing.T) {
	key := mustKey(t)
	for _, h := range []vigil.ChainHead{
		{Chain: vigil.AuditChain, Seq: 1234, Hash: hash("a")},
		{Chain: vigil.CustodyChain(7), Seq: 3, Hash: hash("b")},
	} {
		c := anchor.Sign(key, h, at)
		line := c.String()
		want := fmt.Sprintf("vigil-checkpoint v1 chain=%s seq=%d head=%s at=2026-12-01T10:00:00.123456Z key=%s sig=", h.Chain, h.Seq, h.Hash, anchor.KeyID(pub(key)))
		if !strings.HasPrefix(line, want) {
			t.Errorf("line = %q, want it to start %q", line, want)
		}
		// A syslog header before it is not part of it.
		got, err := anchor.Parse("Dec  1 10:00:00 host vigil[42]: " + line + "\n")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("Parse(String()) differs (-want +got):\n%s", diff)
		}
		if err := got.Verify(pub(key)); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

// TestForgedCheckpoint: a checkpoint changed after signing, or signed with
// another key in this key's name, is refused.
func TestForgedCheckpoint(t *testing.T) {
	key, other := mustKey(t), mustKey(t)
	line := anchor.Sign(key, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 100, Hash: hash("a")}, at).String()
	forgeries := map[string]string{
		"ShorterChain": strings.Replace(line, "seq=100", "seq=98", 1),
		"OtherHead":    strings.Replace(line, hash("a"), hash("b"), 1),
		"OtherTime":    strings.Replace(line, "at=2026-12-01", "at=2026-12-02", 1),
		"OtherChain":   strings.Replace(line, "chain=audit", "chain=custody:1", 1),
		"SignedByAnother": func() string {
			c := anchor.Sign(other, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 98, Hash: hash("a")}, at)
			c.KeyID = anchor.KeyID(pub(key)) // claims to be ours
			return c.String()
		}(),
		"FlippedSignature": func() string {
			c, _ := anchor.Parse(line)
			c.Sig[0] ^= 1
			return c.String()
		}(),
	}
	for name, forged := range forgeries {
		t.Run(name, func(t *testing.T) {
			c, err := anchor.Parse(forged)
			if err != nil {
				t.Fatalf("Parse: %v (the forgery is well formed)", err)
			}
			if err := c.Verify(pub(key)); err == nil || errors.Is(err, anchor.ErrOtherKey) {
				t.Errorf("Verify = %v, want a bad signature", err)
			}
		})
	}
	// Checked with another key, it is not ours to judge.
	c, _ := anchor.Parse(line)
	if err := c.Verify(pub(other)); !errors.Is(err, anchor.ErrOtherKey) {
		t.Errorf("Verify with another key = %v, want ErrOtherKey", err)
	}
	// One checkpoint has one line: other spellings are refused.
	for name, bad := range map[string]string{
		"NoSignature":   line[:strings.Index(line, " sig=")],
		"Reordered":     strings.Replace(line, "chain=audit seq=100", "seq=100 chain=audit", 1),
		"TwoSpaces":     strings.Replace(line, " seq=", "  seq=", 1),
		"UpperHex":      strings.Replace(line, hash("a"), strings.ToUpper(hash("a")), 1),
		"LeadingZero":   strings.Replace(line, "seq=100", "seq=0100", 1),
		"ZeroSeq":       strings.Replace(line, "seq=100", "seq=0", 1),
		"ExtraField":    strings.Replace(line, " key=", " note=x key=", 1),
		"TrailingSpace": line + " ",
		"ShortSig":      line[:len(line)-4],
		"OtherVersion":  strings.Replace(line, " v1 ", " v2 ", 1),
	} {
		if _, err := anchor.Parse(bad); err == nil {
			t.Errorf("%s: Parse(%q) succeeded", name, bad)
		}
	}
}

func TestReadLog(t *testing.T) {
	key, other := mustKey(t), mustKey(t)
	a1 := anchor.Sign(key, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 10, Hash: hash("10")}, at)
	a2 := anchor.Sign(key, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 12, Hash: hash("12")}, at.Add(time.Minute))
	a2again := anchor.Sign(key, a2.ChainHead, at.Add(2*time.Minute)) // a second instance
	c1 := anchor.Sign(key, vigil.ChainHead{Chain: vigil.CustodyChain(3), Seq: 2, Hash: hash("c")}, at)
	theirs := anchor.Sign(other, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 99, Hash: hash("99")}, at)
	file := strings.Join([]string{
		"some other log line",
		a1.String(),
		"Dec  1 10:01:00 host vigil[42]: " + a2.String(),
		c1.String(),
		strings.Replace(a2.String(), "seq=12", "seq=11", 1), // forged
		theirs.String(),
		a2again.String(),
		"vigil-checkpoint v1 chain=audit truncated",
	}, "\n") + "\n"
	l, err := anchor.ReadLog(strings.NewReader(file), pub(key))
	if err != nil {
		t.Fatal(err)
	}
	wantHeads := map[vigil.ChainHead]time.Time{a1.ChainHead: a1.At, a2.ChainHead: a2.At, c1.ChainHead: c1.At}
	if diff := cmp.Diff(wantHeads, l.Heads); diff != "" {
		t.Errorf("Heads (-want +got):\n%s", diff)
	}
	if l.Latest[vigil.AuditChain].Seq != 12 || l.Latest[vigil.CustodyChain(3)].Seq != 2 {
		t.Errorf("Latest = %+v", l.Latest)
	}
	if len(l.Bad) != 2 || !strings.HasPrefix(l.Bad[0], "line 5: the signature does not verify") || !strings.HasPrefix(l.Bad[1], "line 8:") {
		t.Errorf("Bad = %q, want lines 5 and 8", l.Bad)
	}
	if l.OtherKeys != 1 || l.Count(vigil.ChainAudit) != 2 || l.Count(vigil.ChainCustody) != 1 {
		t.Errorf("OtherKeys %d, audit %d, custody %d; want 1, 2, 1", l.OtherKeys, l.Count(vigil.ChainAudit), l.Count(vigil.ChainCustody))
	}

	heads, bad, err := anchor.LatestHeads(strings.NewReader(file), pub(key))
	if err != nil || len(bad) != 0 || len(heads) != 2 {
		t.Fatalf("LatestHeads = %v, %q, %v; want the audit and custody heads", heads, bad, err)
	}
	// The longest head of a chain forged: left out and named.
	forged := strings.Replace(a2.String(), "seq=12", "seq=13", 1)
	heads, bad, err = anchor.LatestHeads(strings.NewReader(file+forged+"\n"), pub(key))
	if err != nil || len(bad) != 1 || !strings.HasPrefix(bad[0], "line 9:") || len(heads) != 1 || heads[0].Chain != vigil.CustodyChain(3) {
		t.Errorf("LatestHeads with a forged latest = %v, %q, %v", heads, bad, err)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, anchor.KeyFileName)
	key, err := anchor.CreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v; want 0600", st.Mode(), err)
	}
	if _, err := anchor.CreateKey(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKey over a key = %v, want ErrExist", err)
	}
	loaded, err := anchor.LoadKey(path)
	if err != nil || !loaded.Equal(key) {
		t.Fatalf("LoadKey = %v", err)
	}
	seed := base64.StdEncoding.EncodeToString(key.Seed())
	if k, err := anchor.ParseKey([]byte(seed + "\n")); err != nil || !k.Equal(key) {
		t.Errorf("ParseKey(seed) = %v", err)
	}
	pemKey, _ := os.ReadFile(path)
	for name, b := range map[string][]byte{
		"PEM":     anchor.MarshalPublicKey(pub(key)),
		"Base64":  []byte(base64.StdEncoding.EncodeToString(pub(key))),
		"Private": pemKey,
	} {
		if p, err := anchor.ParsePublicKey(b); err != nil || !p.Equal(pub(key)) {
			t.Errorf("ParsePublicKey(%s) = %v", name, err)
		}
	}
	for _, b := range []string{"", "not a key", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := anchor.ParseKey([]byte(b)); err == nil {
			t.Errorf("ParseKey(%q) succeeded", b)
		}
	}
}

// chains is an AnchorService over chains of hashes in memory.
type chains struct {
	mu sync.Mutex
	m  map[vigil.Chain][]string
}

func (c *chains) add(ch vigil.Chain, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.m[ch] = append(c.m[ch], hash(fmt.Sprint(ch, len(c.m[ch]), time.Now().UnixNano())))
	}
}

func (c *chains) ChainHeads(context.Context) ([]vigil.ChainHead, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []vigil.ChainHead
	for ch, hs := range c.m {
		h := vigil.ChainHead{Chain: ch, Seq: int64(len(hs))}
		if len(hs) > 0 {
			h.Hash = hs[len(hs)-1]
		}
		out = append(out, h)
	}
	return out, nil
}

func (c *chains) CheckChainHeads(_ context.Context, heads []vigil.ChainHead) ([]vigil.ChainProblem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []vigil.ChainProblem
	for _, h := range heads {
		hs := c.m[h.Chain]
		if h.Seq > int64(len(hs)) || hs[h.Seq-1] != h.Hash {
			out = append(out, vigil.ChainProblem{Head: h, Problem: "not held"})
		}
	}
	return out, nil
}

func TestCheckpointer(t *testing.T) {
	key := mustKey(t)
	store := &chains{m: map[vigil.Chain][]string{vigil.AuditChain: nil, vigil.CustodyChain(1): nil, vigil.CustodyChain(2): nil}}
	store.add(vigil.AuditChain, 5)
	store.add(vigil.CustodyChain(1), 2)
	var logs bytes.Buffer
	mem := &anchor.Memory{}
	file := &anchor.File{Path: filepath.Join(t.TempDir(), anchor.LogFileName)}
	cp := &anchor.Checkpointer{Anchors: store, Key: key, Sinks: []anchor.Sink{mem, file}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	round := func(want ...vigil.Chain) {
		t.Helper()
		cps, err := cp.Checkpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := map[vigil.Chain]bool{}
		for _, c := range cps {
			got[c.Chain] = true
		}
		wantSet := map[vigil.Chain]bool{}
		for _, c := range want {
			wantSet[c] = true
		}
		if diff := cmp.Diff(wantSet, got); diff != "" {
			t.Errorf("signed chains (-want +got):\n%s", diff)
		}
	}
	// First round: every chain with entries. Then only the moved ones.
	round(vigil.AuditChain, vigil.CustodyChain(1))
	round()
	store.add(vigil.CustodyChain(2), 1)
	store.add(vigil.AuditChain, 1)
	round(vigil.AuditChain, vigil.CustodyChain(2))

	// The audit log loses its newest events, and gains others: the chain
	// no longer holds what was signed, and is not signed again.
	store.mu.Lock()
	store.m[vigil.AuditChain] = store.m[vigil.AuditChain][:4]
	store.mu.Unlock()
	store.add(vigil.AuditChain, 5)
	store.add(vigil.CustodyChain(1), 1)
	round(vigil.CustodyChain(1))
	round()
	if n := strings.Count(logs.String(), "a chain no longer holds the head signed"); n != 2 {
		t.Errorf("logged the broken chain %d times, want at every round (2):\n%s", n, logs.String())
	}

	// The file holds what memory does, owner-only; every line verifies.
	b, err := os.ReadFile(file.Path)
	if err != nil || string(b) != mem.Lines() {
		t.Errorf("file = %q, %v; want %q", b, err, mem.Lines())
	}
	if st, _ := os.Stat(file.Path); st.Mode().Perm() != 0o600 {
		t.Errorf("anchors file mode = %v, want 0600", st.Mode())
	}
	l, err := anchor.ReadLog(bytes.NewReader(b), pub(key))
	if err != nil || len(l.Bad) != 0 || len(l.Heads) != 5 {
		t.Errorf("ReadLog = %d heads, bad %q, %v; want 5 heads", len(l.Heads), l.Bad, err)
	}

	// A checkpointer that starts again from the file writes only what moved,
	// and still finds the audit log broken.
	again := &anchor.Checkpointer{Anchors: store, Key: key, Sinks: []anchor.Sink{mem}, Logger: cp.Logger}
	heads, _, err := anchor.LatestHeads(bytes.NewReader(b), pub(key))
	if err != nil {
		t.Fatal(err)
	}
	again.Seed(heads)
	store.add(vigil.CustodyChain(2), 1)
	cps, err := again.Checkpoint(t.Context())
	if err != nil || len(cps) != 1 || cps[0].Chain != vigil.CustodyChain(2) {
		t.Errorf("after a restart: %v, %v; want custody:2 only", cps, err)
	}
	if n := strings.Count(logs.String(), "a chain no longer holds the head signed"); n != 3 {
		t.Errorf("after a restart the broken chain was logged %d times in all, want 3", n)
	}
}

// TestCheckpointerRun: a checkpoint at start, and one at shutdown with
// what was written in between.
func TestCheckpointerRun(t *testing.T) {
	store := &chains{m: map[vigil.Chain][]string{vigil.AuditChain: nil}}
	store.add(vigil.AuditChain, 1)
	mem := &anchor.Memory{}
	cp := &anchor.Checkpointer{Anchors: store, Key: mustKey(t), Sinks: []anchor.Sink{mem}, Every: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cp.Run(ctx)
	}()
	for !strings.Contains(mem.Lines(), "seq=1 ") {
		time.Sleep(time.Millisecond)
	}
	store.add(vigil.AuditChain, 2)
	cancel()
	<-done
	if !strings.Contains(mem.Lines(), "seq=3 ") {
		t.Errorf("no checkpoint at shutdown:\n%s", mem.Lines())
	}
}

type failing struct{}

func (failing) Write(context.Context, []string) error { return errors.New("disk full") }
func (failing) String() string                        { return "failing" }

// TestCheckpointerSinkFails: a head no sink took is signed again.
func TestCheckpointerSinkFails(t *testing.T) {
	store := &chains{m: map[vigil.Chain][]string{vigil.AuditChain: nil}}
	store.add(vigil.AuditChain, 1)
	cp := &anchor.Checkpointer{Anchors: store, Key: mustKey(t), Sinks: []anchor.Sink{failing{}}}
	if _, err := cp.Checkpoint(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Checkpoint = %v, want the sink's error", err)
	}
	mem := &anchor.Memory{}
	cp.Sinks = []anchor.Sink{failing{}, mem}
	cps, err := cp.Checkpoint(t.Context())
	if len(cps) != 1 || err == nil || !strings.Contains(mem.Lines(), "seq=1 ") {
		t.Errorf("Checkpoint = %v, %v; want the head signed again, and the failing sink named", cps, err)
	}
}

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []string
	down := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		}
		got = append(got, string(b))
	}))
	defer srv.Close()
	w := &anchor.Webhook{URL: srv.URL}
	if err := w.Write(t.Context(), []string{"one"}); err == nil || !strings.Contains(err.Error(), "1 checkpoints kept") {
		t.Errorf("Write to a receiver that is down = %v", err)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	if err := w.Write(t.Context(), []string{"two", "three"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(t.Context(), []string{"four"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one\ntwo\nthree\n", "four\n"}, got); diff != "" {
		t.Errorf("posted (-want +got):\n%s", diff)
	}
}

// TestSyslog sends checkpoints to a syslog socket; the lines received are
// checkpoints ReadLog takes, syslog header and all.
func TestSyslog(t *testing.T) {
	if !anchor.SyslogAvailable {
		t.Skip("no syslog here")
	}
	dir, err := os.MkdirTemp("", "vigil-syslog-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key := mustKey(t)
	c := anchor.Sign(key, vigil.ChainHead{Chain: vigil.AuditChain, Seq: 5, Hash: hash("5")}, at)
	s := &anchor.Syslog{Network: "unixgram", Addr: sock}
	if err := s.Dial(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), []string{c.String()}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "<37>") || !strings.Contains(msg, " vigil[") { // auth.notice
		t.Errorf("syslog message = %q", msg)
	}
	l, err := anchor.ReadLog(strings.NewReader(msg), pub(key))
	if err != nil || len(l.Heads) != 1 || len(l.Bad) != 0 {
		t.Errorf("ReadLog(%q) = %+v, %v", msg, l, err)
	}
}

func BenchmarkReadLog(b *testing.B) {
	key := mustKey(b)
	var file strings.Builder
	for i := range 1000 {
		file.WriteString(anchor.Sign(key, vigil.ChainHead{Chain: vigil.AuditChain, Seq: int64(i + 1), Hash: hash(fmt.Sprint(i))}, at).String() + "\n")
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := anchor.ReadLog(strings.NewReader(file.String()), pub(key)); err != nil {
			b.Fatal(err)
		}
	}
}
