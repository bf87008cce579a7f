package main

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
)

// anchorGuards drop each engine's append-only triggers, as an attacker
// with database access would.
var anchorGuards = map[string][]string{
	"sqlite": {`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`,
		`DROP TRIGGER custody_no_update`, `DROP TRIGGER custody_no_delete`},
	"postgres": {`DROP TRIGGER audit_events_no_change ON audit_events`, `DROP TRIGGER custody_no_change ON custody`},
}

// TestAnchoredVerify: the server signs checkpoints of the audit and custody
// logs; an attacker who deletes the newest entries and rewrites the heads
// the database keeps passes the chains' own checks, and the verify
// commands find them out from the checkpoints.
func TestAnchoredVerify(t *testing.T) {
	testAnchoredVerify(t, Config{Data: filepath.Join(t.TempDir(), "data")})
}

// TestAnchoredVerifyPostgres is TestAnchoredVerify on PostgreSQL.
func TestAnchoredVerifyPostgres(t *testing.T) {
	testAnchoredVerify(t, Config{Database: testPostgresURL(t), Data: filepath.Join(t.TempDir(), "data")})
}

func testAnchoredVerify(t *testing.T, cfg Config) {
	root := filepath.Dir(cfg.Data)
	keyPath, logPath := filepath.Join(root, anchor.KeyFileName), filepath.Join(root, anchor.LogFileName)
	vigilCmd := func(args ...string) (string, error) {
		t.Helper()
		args = append(args, "-data", cfg.Data)
		if cfg.Database != "" && args[0] != "anchor" {
			args = append(args, "-database", cfg.Database)
		}
		var out bytes.Buffer
		err := run(t.Context(), args, nil, &out, &out)
		return out.String(), err
	}
	var logs bytes.Buffer
	serve := func() *Main {
		t.Helper()
		var out bytes.Buffer
		m := &Main{Config: ServeConfig{Config: cfg, Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second},
			Stdout: &out, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		if err := m.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		return m
	}

	// No server has run: nothing to check against, and verify says so.
	if out, err := vigilCmd("audit", "verify"); err != nil || !strings.Contains(out, "WARNING: no checkpoints at "+logPath) {
		t.Errorf("audit verify without checkpoints: %v %q", err, out)
	}

	m := serve()
	ctx := cliContext(t.Context())
	svc := m.Store.Services()
	inc := &vigil.Incident{Title: "Insider with database access"}
	if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	var ev []*vigil.Evidence
	for _, name := range []string{"laptop.E01", "mail.eml"} {
		e := &vigil.Evidence{IncidentID: inc.ID, Name: name}
		if err := svc.Evidence.AddEvidence(ctx, e, strings.NewReader("content of "+name)); err != nil {
			t.Fatal(err)
		}
		ev = append(ev, e)
	}
	if _, err := svc.Evidence.TransferEvidence(ctx, ev[0].ID, vigil.Transfer{To: "Thames Valley Police"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cur, err := svc.Incidents.FindIncidentByID(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Incidents.UpdateIncident(ctx, inc.ID, vigil.IncidentUpdate{Summary: ptrTo(strings.Repeat("more ", i+1)), Version: cur.Version}); err != nil {
			t.Fatal(err)
		}
	}
	head, err := svc.Audit.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Close() // the last checkpoint, after the last write

	// Everything made owner-only.
	for p, want := range map[string]fs.FileMode{keyPath: 0o600, logPath: 0o600, cfg.Data: 0o700, filepath.Join(cfg.Data, "evidence"): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", p, st.Mode(), err, want)
		}
	}
	b, _ := os.ReadFile(logPath)
	if want := "chain=audit seq=" + itoa(head.HeadSeq) + " "; !strings.Contains(string(b), want) {
		t.Fatalf("the anchors file has no checkpoint of the audit head at shutdown (%q):\n%s", want, b)
	}

	out, err := vigilCmd("audit", "verify")
	if err != nil || !strings.Contains(out, "OK: ") || !strings.Contains(out, "Anchored: the audit log holds all") {
		t.Fatalf("audit verify: %v %q", err, out)
	}
	out, err = vigilCmd("evidence", "verify")
	if err != nil || !strings.Contains(out, "Anchored: the custody logs of 2 pieces of evidence") {
		t.Fatalf("evidence verify: %v %q", err, out)
	}
	// Checked elsewhere: with the public key alone.
	pubPath := filepath.Join(t.TempDir(), "anchor.pub")
	out, err = vigilCmd("anchor", "pubkey")
	if err != nil || !strings.Contains(out, "BEGIN PUBLIC KEY") {
		t.Fatalf("anchor pubkey: %v %q", err, out)
	}
	os.WriteFile(pubPath, []byte(out[strings.Index(out, "-----BEGIN"):]), 0o600)
	aside := keyPath + ".aside"
	os.Rename(keyPath, aside)
	if out, err := vigilCmd("audit", "verify", "-anchor-pubkey", pubPath, "-anchors", logPath); err != nil || !strings.Contains(out, "Anchored") {
		t.Errorf("audit verify with the public key: %v %q", err, out)
	}
	if out, err := vigilCmd("audit", "verify"); err == nil || !strings.Contains(out+err.Error(), "anchor key") {
		t.Errorf("audit verify with no key to check with: %v %q", err, out)
	}
	os.Rename(aside, keyPath)

	// The attack: the newest audit events and the transfer to the police
	// go, and the heads the database keeps are rewritten to match.
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	keep := head.HeadSeq - 3
	attack := append(anchorGuards[s.Engine()],
		`DELETE FROM audit_events WHERE seq > `+itoa(keep),
		`UPDATE audit_head SET seq = `+itoa(keep)+`, hash = (SELECT hash FROM audit_events WHERE seq = `+itoa(keep)+`) WHERE id = 1`,
		`DELETE FROM custody WHERE evidence_id = `+itoa(ev[0].ID)+` AND seq = 2`,
		`UPDATE evidence SET custody_count = 1, custody_head = (SELECT hash FROM custody WHERE evidence_id = `+itoa(ev[0].ID)+` AND seq = 1) WHERE id = `+itoa(ev[0].ID))
	for _, q := range attack {
		if _, err := s.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if v, err := s.Services().Audit.VerifyAudit(ctx); err != nil || !v.OK {
		t.Fatalf("VerifyAudit after the attack = %+v, %v; want the chain consistent in itself", v, err)
	}
	s.Close()

	out, err = vigilCmd("audit", "verify")
	if exitCode(err) != 1 || !strings.Contains(out, "OK: ") ||
		!regexp.MustCompile(`NOT AS SIGNED .*audit.*The audit log ends at event \d+, but it held \d+ events when this checkpoint was signed`).MatchString(out) ||
		!strings.Contains(out, "FAILED: the audit log does not hold") {
		t.Errorf("audit verify after the attack: %v %q", err, out)
	}
	out, err = vigilCmd("evidence", "verify")
	if exitCode(err) != 1 || !strings.Contains(out, "NOT AS SIGNED") || !strings.Contains(out, "custody:"+itoa(ev[0].ID)) ||
		strings.Contains(out, "custody:"+itoa(ev[1].ID)) || !strings.Contains(out, "FAILED: the custody logs do not hold") {
		t.Errorf("evidence verify after the attack: %v %q", err, out)
	}

	// The server, started again, will not sign the changed audit log.
	m = serve()
	m.Close()
	if !strings.Contains(logs.String(), "a chain no longer holds the head signed in its last checkpoint") || !strings.Contains(logs.String(), "chain=audit") {
		t.Errorf("the restarted server did not report the changed chain:\n%s", logs.String())
	}
	out, err = vigilCmd("audit", "verify")
	if exitCode(err) != 1 || !strings.Contains(out, "NOT AS SIGNED") {
		t.Errorf("audit verify after a restart: exit %d %q", exitCode(err), out)
	}
}

// TestForgedCheckpointRefused: a checkpoint line changed to match a
// shortened log does not verify, and fails the verify command.
func TestForgedCheckpointRefused(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	m, _ := MustRunMain(t, data)
	inc := &vigil.Incident{Title: "Forged"}
	if err := m.Store.Services().Incidents.CreateIncident(cliContext(t.Context()), inc); err != nil {
		t.Fatal(err)
	}
	m.Close()
	logPath := filepath.Join(filepath.Dir(data), anchor.LogFileName)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	seq := regexp.MustCompile(`seq=(\d+)`).FindStringSubmatch(last)[1]
	forged := strings.Replace(last, "seq="+seq, "seq=1", 1)
	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(forged + "\n")
	f.Close()
	var out bytes.Buffer
	err = run(t.Context(), []string{"audit", "verify", "-data", data}, nil, &out, &out)
	if exitCode(err) != 1 || !strings.Contains(out.String(), "FORGED  "+logPath+", line "+itoa(int64(len(lines)+1))+": the signature does not verify") {
		t.Errorf("audit verify with a forged checkpoint: exit %d %q", exitCode(err), out.String())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
