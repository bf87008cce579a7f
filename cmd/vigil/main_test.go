package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func TestMain(m *testing.M) {
	vigil.DefaultPasswordParams = vigil.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	if os.Getenv("VIGIL_TEST_MAIN") == "1" {
		// Run as the vigil command, for tests that need a real server
		// process (TestIntakeSurvivesKill9).
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// MustRunMain runs the real server on a free port with a fresh data folder.
func MustRunMain(tb testing.TB, data string) (*Main, *bytes.Buffer) {
	tb.Helper()
	var out bytes.Buffer
	m := &Main{Config: ServeConfig{Config: Config{Data: data}, Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Stdout: &out}
	if err := m.Run(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m, &out
}

func TestServeFirstAdmin(t *testing.T) {
	m, out := MustRunMain(t, t.TempDir())
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if pw == nil {
		t.Fatalf("no password printed: %q", out.String())
	}
	base := m.HTTPServer.URL()
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+pw[1]+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login with the printed password: %d", resp.StatusCode)
	}
	// The printed password is a one-time password: nothing but changing it
	// is allowed until the admin has.
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	jar := resp.Cookies()
	call := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", login.CSRFToken)
		for _, c := range jar {
			req.AddCookie(c)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	resp, _ = http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"`+pw[1]+`"}`))
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	jar = resp.Cookies()
	if r := call("GET", "/api/v1/incidents", ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("with the one-time password, incidents answered %d", r.StatusCode)
	}
	if r := call("GET", "/api/v1/me", ""); r.StatusCode != http.StatusOK {
		t.Errorf("with the one-time password, /me answered %d", r.StatusCode)
	}
	if r := call("PUT", "/api/v1/me/password", `{"current_password":"`+pw[1]+`","new_password":"a passphrase of my own"}`); r.StatusCode != http.StatusNoContent {
		t.Fatalf("changing the one-time password: %d", r.StatusCode)
	}
	resp, _ = http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"a passphrase of my own"}`))
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	jar = resp.Cookies()
	if r := call("GET", "/api/v1/incidents", ""); r.StatusCode != http.StatusOK {
		t.Errorf("after choosing a password, incidents answered %d", r.StatusCode)
	}
	// A second start finds the admin and prints nothing.
	data := m.Config.Data
	m.Close()
	_, out2 := MustRunMain(t, data)
	if out2.Len() != 0 {
		t.Errorf("second start printed %q", out2.String())
	}
}

// loginStatus tries a password at the API's login and returns the status.
func loginStatus(t *testing.T, base, username, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeAfterSeed: "vigil seed" before the first start filled the store
// with analysts, and the first start, finding users, made no administrator
// and printed nothing. It must make one.
func TestServeAfterSeed(t *testing.T) {
	data := t.TempDir()
	var seedOut bytes.Buffer
	if err := run(t.Context(), []string{"seed", "-data", data, "-incidents", "20", "-timeline", "4", "-users", "3"}, strings.NewReader(""), &seedOut, &seedOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, seedOut.String())
	}
	m, out := MustRunMain(t, data)
	pw := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if pw == nil {
		t.Fatalf("no password printed after seed: %q", out.String())
	}
	if st := loginStatus(t, m.HTTPServer.URL(), "admin", pw[1]); st != http.StatusOK {
		t.Errorf("login with the printed password: %d", st)
	}
}

// TestServeOneTimePasswordAgain: a first start that stopped after printing
// the one-time password (its port taken, the output lost) must not leave an
// administrator nobody can log in as: until it is used, each start prints a
// new one, and the old one no longer works.
func TestServeOneTimePasswordAgain(t *testing.T) {
	data := t.TempDir()
	m, out := MustRunMain(t, data)
	first := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	m.Close()
	m, out = MustRunMain(t, data)
	second := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out.String())
	if first == nil || second == nil || first[1] == second[1] {
		t.Fatalf("first start printed %q, second %q", first, second)
	}
	base := m.HTTPServer.URL()
	if st := loginStatus(t, base, "admin", first[1]); st != http.StatusUnauthorized {
		t.Errorf("the first one-time password still works: %d", st)
	}
	if st := loginStatus(t, base, "admin", second[1]); st != http.StatusOK {
		t.Errorf("login with the new one-time password: %d", st)
	}
	// Used once (a login), it is the admin's to change: no third one.
	m.Close()
	_, out = MustRunMain(t, data)
	if out.Len() != 0 {
		t.Errorf("a start after the admin logged in printed %q", out.String())
	}
}

func TestServeAdminPasswordFromEnv(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	_, out := MustRunMain(t, t.TempDir())
	if strings.Contains(out.String(), "password") {
		t.Errorf("printed %q, want no password when it was given", out.String())
	}
}

// TestGracefulShutdown starts a request, shuts down while its body is still
// arriving, and checks that the request completes.
func TestGracefulShutdown(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	m, _ := MustRunMain(t, t.TempDir())
	ctx := cliContext(t.Context())
	tok := &vigil.Token{Name: "t", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}}
	secret, err := m.Store.Services().Auth.CreateToken(ctx, 1, tok)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", m.HTTPServer.URL()+"/api/v1/incidents", pr)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	pw.Write([]byte(`{"title": "Arrived during shut`))
	time.Sleep(100 * time.Millisecond) // the request is in flight
	closed := make(chan error, 1)
	go func() { closed <- m.HTTPServer.Close(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned while a request was in flight")
	default:
	}
	pw.Write([]byte(`down"}`))
	pw.Close()
	resp := <-done
	if resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request: %v", resp)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(m.HTTPServer.URL() + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
}

// TestBackupUnderWrites takes a backup while writers keep writing, restores
// it into a new folder and finds every incident committed before the backup
// began.
func TestBackupUnderWrites(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	dir := t.TempDir()
	m, _ := MustRunMain(t, filepath.Join(dir, "live"))
	ctx := cliContext(t.Context())
	svc := m.Store.Services()

	var (
		mu        sync.Mutex
		committed = map[int64]time.Time{} // incident -> when CreateIncident returned
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				inc := &vigil.Incident{Title: fmt.Sprintf("writer %d incident %d", w, i)}
				if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
					t.Error(err)
					return
				}
				if _, err := svc.Timeline.AddNote(ctx, inc.ID, vigil.Note{Message: "note"}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed[inc.ID] = time.Now()
				mu.Unlock()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	began := time.Now()
	backup := filepath.Join(dir, "vigil.backup")
	manifest, err := Backup(t.Context(), m.Store, backup)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // writes after the backup, which it need not hold
	stop.Store(true)
	wg.Wait()
	if manifest.Engine != "sqlite" || manifest.SchemaVersion < 1 {
		t.Errorf("manifest = %+v", manifest)
	}

	restored := filepath.Join(dir, "restored")
	cfg := &Config{Data: restored}
	if _, err := Restore(t.Context(), cfg, backup, false); err != nil {
		t.Fatal(err)
	}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before, missing int
	mu.Lock()
	defer mu.Unlock()
	for id, at := range committed {
		if !at.Before(began) {
			continue
		}
		before++
		if _, err := s.Services().Incidents.FindIncidentByID(ctx, id); err != nil {
			missing++
		}
	}
	if before == 0 {
		t.Fatal("no incident was committed before the backup began")
	}
	if missing > 0 {
		t.Errorf("%d of %d incidents committed before the backup are missing", missing, before)
	}
	v, err := s.Services().Audit.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Errorf("the restored audit chain is broken: %+v", v)
	}
	t.Logf("%d incidents committed before the backup, %d in all; audit chain of %d events intact", before, len(committed), v.Checked)

	// A damaged backup is refused and replaces nothing.
	b, _ := os.ReadFile(backup)
	b[len(b)/2] ^= 0xff
	damaged := filepath.Join(dir, "damaged.backup")
	os.WriteFile(damaged, b, 0o600)
	if _, err := Restore(t.Context(), &Config{Data: filepath.Join(dir, "other")}, damaged, false); err == nil {
		t.Error("a damaged backup was restored")
	}
	if _, err := Restore(t.Context(), cfg, backup, false); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Errorf("restoring over a database without -force: %v", err)
	}
}

// TestCLI runs the administration commands as a user would.
func TestCLI(t *testing.T) {
	data := t.TempDir()
	run1 := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(t.Context(), append(args[:1:1], append([]string{"-data", data}, args[1:]...)...), strings.NewReader(stdin), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	sub := func(stdin string, cmd, subcmd string, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{cmd, subcmd, "-data", data}, args...), strings.NewReader(stdin), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := run1("", "migrate"); err != nil || !strings.Contains(out, "schema is at version") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	out, err := sub("", "user", "add", "-role", "admin", "-name", "Ada", "ada")
	if err != nil || !strings.Contains(out, "Password: ") {
		t.Fatalf("user add: %v %q", err, out)
	}
	if out, err := sub("a long enough passphrase\n", "user", "add", "-password-stdin", "-role", "viewer", "vic"); err != nil || strings.Contains(out, "Password:") {
		t.Fatalf("user add -password-stdin: %v %q", err, out)
	}
	if out, err := sub("", "user", "add", "-role", "emperor", "bad"); err == nil || !strings.Contains(out+err.Error(), "role") {
		t.Errorf("user add with a bad role: %v %q", err, out)
	}
	if out, err := sub("", "user", "list"); err != nil || !strings.Contains(out, "ada") || !strings.Contains(out, "vic") {
		t.Errorf("user list: %v %q", err, out)
	}
	// Organisations.
	if out, err := sub("", "org", "create", "-sector", "water", "north", "North Water"); err != nil || !strings.Contains(out, "Created north") {
		t.Errorf("org create: %v %q", err, out)
	}
	if out, err := sub("", "org", "create", "north", "Again"); err == nil || !strings.Contains(out+err.Error(), "taken") {
		t.Errorf("org create twice: %v %q", err, out)
	}
	if out, err := sub("", "org", "create", "Bad Slug!", "x"); err == nil || !strings.Contains(out+err.Error(), "slug") {
		t.Errorf("org create with a bad slug: %v %q", err, out)
	}
	if out, err := sub("", "org", "add-user", "-role", "manager", "north", "vic"); err != nil || !strings.Contains(out, "vic is now manager in north") {
		t.Errorf("org add-user: %v %q", err, out)
	}
	if out, err := sub("", "org", "add-user", "north", "vic"); err == nil || !strings.Contains(out+err.Error(), "already") {
		t.Errorf("org add-user twice: %v %q", err, out)
	}
	if out, err := sub("", "org", "add-user", "nowhere", "vic"); err == nil || !strings.Contains(out+err.Error(), "not found") {
		t.Errorf("org add-user to an unknown organisation: %v %q", err, out)
	}
	if out, err := sub("", "user", "add", "-org", "north", "-role", "reporter", "nick"); err != nil || !strings.Contains(out, "reporter in north") {
		t.Errorf("user add -org: %v %q", err, out)
	}
	if out, err := sub("", "org", "suspend", "north"); err != nil || !strings.Contains(out, "suspended") {
		t.Errorf("org suspend: %v %q", err, out)
	}
	if out, err := sub("", "org", "list"); err != nil || !strings.Contains(out, "default") || !strings.Contains(out, "north") || !strings.Contains(out, "suspended") {
		t.Errorf("org list: %v %q", err, out)
	}
	if _, err := sub("", "user", "disable", "vic"); err != nil {
		t.Error(err)
	}
	if out, err := sub("", "user", "passwd", "vic"); err != nil || !strings.Contains(out, "Password: ") {
		t.Errorf("user passwd: %v %q", err, out)
	}
	out, err = sub("", "token", "create", "-user", "ada", "-name", "siem", "-scopes", "read")
	if err != nil || !strings.Contains(out, vigil.TokenPrefix) {
		t.Fatalf("token create: %v %q", err, out)
	}
	if out, err := sub("", "token", "list", "-user", "ada"); err != nil || !strings.Contains(out, "siem") {
		t.Errorf("token list: %v %q", err, out)
	}
	if out, err := sub("", "token", "revoke", "1"); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("token revoke: %v %q", err, out)
	}
	if out, err := sub("", "audit", "verify"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("audit verify: %v %q", err, out)
	}
	var out2 bytes.Buffer
	if err := run(t.Context(), []string{"version"}, nil, &out2, io.Discard); err != nil || !strings.Contains(out2.String(), vigil.Version) {
		t.Errorf("version: %v %q", err, out2.String())
	}
	// Tamper with the audit log behind Vigil's back: verify must fail.
	cfg := &Config{Data: data}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_events_no_update`, `UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2`} {
		if _, err := s.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	out, err = sub("", "audit", "verify")
	if exitCode(err) != 1 || !strings.Contains(out, "BROKEN at event 2") {
		t.Errorf("audit verify after tampering: exit %d, %q", exitCode(err), out)
	}
}

// TestOwnerOnlyFiles: every file and folder Vigil makes is its owner's
// alone, whatever the umask: the data and evidence folders, the database
// with its WAL and shared memory, evidence files, the anchor key and
// checkpoints, backups and exports.
func TestOwnerOnlyFiles(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	m, _ := MustRunMain(t, data)
	ctx := cliContext(t.Context())
	svc := m.Store.Services()
	inc := &vigil.Incident{Title: "Private"}
	if err := svc.Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	e := &vigil.Evidence{IncidentID: inc.ID, Name: "notes.txt"}
	if err := svc.Evidence.AddEvidence(ctx, e, strings.NewReader("private notes")); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(root, "vigil.backup")
	if _, err := Backup(t.Context(), m.Store, backup); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(data, "vigil.db")
	want := map[string]os.FileMode{
		data: 0o700, filepath.Join(data, "evidence"): 0o700, filepath.Join(data, "evidence", "sha256", e.SHA256[:2]): 0o700,
		filepath.Join(data, "evidence", "sha256", e.SHA256[:2], e.SHA256[2:]): 0o400,
		db: 0o600, db + "-wal": 0o600, db + "-shm": 0o600, backup: 0o600,
		filepath.Join(root, "vigil-anchor.key"): 0o600,
	}
	check := func() {
		t.Helper()
		for p, mode := range want {
			st, err := os.Stat(p)
			if err != nil {
				t.Error(err)
			} else if st.Mode().Perm() != mode {
				t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), mode)
			}
		}
	}
	check()
	m.Close()
	export := filepath.Join(root, "export.json")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"stix", "export", "-data", data, "-o", export, inc.Reference}, nil, &out, &out); err != nil {
		t.Fatalf("stix export: %v %s", err, out.String())
	}
	want[filepath.Join(root, "vigil-anchors.log")], want[export] = 0o600, 0o600
	delete(want, db+"-wal") // a clean close folds the WAL away
	delete(want, db+"-shm")
	check()
}

// TestServeSealsSecrets: the server seals the secrets in the database with
// the key it keeps beside the data folder, opens them again after a
// restart, and seals those a store held before sealing began.
func TestServeSealsSecrets(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	data := filepath.Join(t.TempDir(), "data")
	m, _ := MustRunMain(t, data)
	ctx := cliContext(t.Context())
	svc := m.Store.Services()
	coll := &vigil.Collection{Title: "In"}
	if err := svc.Sharing.CreateCollection(ctx, coll); err != nil {
		t.Fatal(err)
	}
	f := &vigil.Feed{Name: "cert", URL: "https://cert.example/taxii2/api/collections/x/", Password: "feed-password-456", CollectionID: coll.ID}
	if err := svc.Feeds.CreateFeed(ctx, f); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := m.Store.QueryRow(ctx, `SELECT password FROM taxii_feeds WHERE id = ?`, f.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "feed-password-456") || !strings.HasPrefix(stored, "vgs1:") {
		t.Errorf("stored password %q", stored)
	}
	// One stored before sealing began.
	if _, err := m.Store.Exec(ctx, `UPDATE taxii_feeds SET password = ? WHERE id = ?`, "legacy-password", f.ID); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m, _ = MustRunMain(t, data)
	if err := m.Store.QueryRow(ctx, `SELECT password FROM taxii_feeds WHERE id = ?`, f.ID).Scan(&stored); err != nil || !strings.HasPrefix(stored, "vgs1:") {
		t.Errorf("after a restart the password stored as given is %q (%v)", stored, err)
	}
	if got, err := m.Store.Services().Feeds.FindFeed(ctx, f.ID); err != nil || got.Password != "legacy-password" {
		t.Errorf("feed password after a restart: %v", err)
	}
}

// TestServeRevisesStarterPlans: a data folder whose starter plans an
// earlier Vigil installed, naming Action Fraud, shows Report Fraud after
// the next start, in a new version of the plan.
func TestServeRevisesStarterPlans(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	data := filepath.Join(t.TempDir(), "data")
	m, _ := MustRunMain(t, data)
	ctx := cliContext(t.Context())
	plans, err := m.Store.Services().Plans.FindPlans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rw *vigil.Plan
	for _, p := range plans {
		if p.Key == "ransomware" {
			rw = p
		}
	}
	if rw == nil || rw.Version != 1 || strings.Contains(rw.Source, "Action Fraud") || !strings.Contains(rw.Source, "Report Fraud") {
		t.Fatalf("a new install's ransomware plan: %+v", rw)
	}
	old := strings.Replace(rw.Source, "Report to Report Fraud, 0300 123 2040 (Police Scotland on 101 in Scotland); law",
		"Report to Action Fraud (Police Scotland in Scotland); law", 1)
	if _, err := m.Store.Exec(ctx, `UPDATE plans SET source = ? WHERE id = ?`, old, rw.ID); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m, _ = MustRunMain(t, data)
	got, err := m.Store.Services().Plans.FindPlanByID(ctx, rw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Source != rw.Source {
		t.Errorf("after a restart: version %d, as now shipped %v", got.Version, got.Source == rw.Source)
	}
}

// TestServeSealsTOTPSecrets: a TOTP secret is stored sealed, as channels'
// secrets are (issue 21), and one stored in the clear is sealed at start.
func TestServeSealsTOTPSecrets(t *testing.T) {
	t.Setenv("VIGIL_ADMIN_PASSWORD", "chosen by the operator")
	data := filepath.Join(t.TempDir(), "data")
	m, _ := MustRunMain(t, data)
	ctx := cliContext(t.Context())
	svc := m.Store.Services()
	admin, err := svc.Users.FindUserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	me := vigil.NewContextWithActor(t.Context(), &vigil.Actor{UserID: admin.ID, Username: "admin", Role: vigil.RoleAdmin})
	e, err := svc.MFA.BeginTOTP(me)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := m.Store.QueryRow(ctx, `SELECT secret FROM user_factors WHERE user_id = ?`, admin.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, e.Secret) || !strings.HasPrefix(stored, "vgs1:") {
		t.Errorf("stored TOTP secret %q", stored)
	}
	if _, err := m.Store.Exec(ctx, `UPDATE user_factors SET secret = ? WHERE user_id = ?`, e.Secret, admin.ID); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m, _ = MustRunMain(t, data)
	if err := m.Store.QueryRow(ctx, `SELECT secret FROM user_factors WHERE user_id = ?`, admin.ID).Scan(&stored); err != nil || !strings.HasPrefix(stored, "vgs1:") {
		t.Errorf("after a restart the secret stored in the clear is %q (%v)", stored, err)
	}
	if got, err := m.Store.Services().MFA.PendingTOTP(me); err != nil || got.Secret != e.Secret {
		t.Errorf("the pending secret after a restart: %+v, %v", got, err)
	}
}
