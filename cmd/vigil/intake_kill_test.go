package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/sqlite"
)

// TestIntakeSurvivesKill9 is the lossless promise: a real "vigil serve"
// process takes an alert storm and is killed with SIGKILL in the middle of
// it. Every alert whose request got a 2xx answer must be in the store
// afterwards, and the store must be consistent.
func TestIntakeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server")
	}
	ctx := t.Context()
	data := filepath.Join(t.TempDir(), "data")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary runs as vigil itself (see TestMain).
	env := append(os.Environ(), "VIGIL_TEST_MAIN=1")
	srv, err := spawnServer(ctx, exe, data, "", env)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		notified int // alert notifications answered 2xx
	)
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan *IntakeResult, 1)
	go func() {
		done <- RunIntakeLoad(loadCtx, IntakeLoad{URL: srv.intakeURL(), Token: srv.token, Clients: 16, Duration: time.Minute,
			PerRequest: 10, DupRatio: 0.5, Open: 200, OnAck: func(fps []string) {
				mu.Lock()
				for _, fp := range fps {
					acked[fp] = true
				}
				notified += len(fps)
				mu.Unlock()
			}})
	}()
	// Kill it once it has taken a good number of alerts.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := notified
		mu.Unlock()
		if n >= 3000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	srv.cmd.Wait()
	time.Sleep(200 * time.Millisecond) // requests in flight fail now
	cancel()
	res := <-done
	mu.Lock()
	defer mu.Unlock()
	t.Logf("before the kill: %d requests answered, %d alert notifications acknowledged (%d distinct alerts); answers %v",
		res.Requests, notified, len(acked), res.Statuses)
	if notified < 1000 {
		t.Fatalf("only %d alerts acknowledged before the kill; the test needs a storm", notified)
	}
	if res.Statuses["error"] == 0 {
		t.Error("no request failed: the kill did not land mid-storm")
	}

	// Open the store as the next start would (SQLite recovers its WAL).
	db, err := sqlite.Open(ctx, filepath.Join(data, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.Read.QueryContext(ctx, `SELECT fingerprint FROM alerts`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			t.Fatal(err)
		}
		stored[fp] = true
	}
	rows.Close()
	var lost []string
	for fp := range acked {
		if !stored[fp] {
			lost = append(lost, fp)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged alerts are not in the store, such as %v", len(lost), lost[:min(5, len(lost))])
	}
	// Every acknowledged notification was counted: in the alerts, or in
	// the log of repeats not folded into them yet (which reads add).
	var counted int
	db.Read.QueryRowContext(ctx, `SELECT (SELECT COALESCE(SUM(count), 0) FROM alerts) + (SELECT COALESCE(SUM(n), 0) FROM alert_repeats)`).Scan(&counted)
	if counted < notified {
		t.Errorf("the alerts count %d notifications; %d were acknowledged", counted, notified)
	}
	// The store is consistent.
	for _, c := range []struct{ name, q, want string }{
		{"integrity", `PRAGMA integrity_check`, "ok"},
		{"foreign keys", `SELECT COUNT(*) FROM pragma_foreign_key_check`, "0"},
		{"repeats of no alert", `SELECT COUNT(*) FROM alert_repeats r LEFT JOIN alerts a ON a.id = r.alert_id WHERE a.id IS NULL`, "0"},
		{"alerts without a group", `SELECT COUNT(*) FROM alerts a LEFT JOIN alert_groups g ON g.id = a.group_id WHERE g.id IS NULL`, "0"},
		{"alerts without their occurrence", `SELECT COUNT(*) FROM alerts a WHERE NOT EXISTS
			(SELECT 1 FROM alert_occurrences o WHERE o.alert_id = a.id AND o.n = a.occurrence)`, "0"},
		{"groups counting fewer alerts than they hold", `SELECT COUNT(*) FROM alert_groups g
			WHERE g.alert_count < (SELECT COUNT(*) FROM alerts a WHERE a.group_id = g.id)`, "0"},
	} {
		var got string
		if err := db.Read.QueryRowContext(ctx, c.q).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	sys := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	v, err := db.Services().Audit.VerifyAudit(sys)
	if err != nil || !v.OK {
		t.Errorf("audit chain after the kill: %+v %v", v, err)
	}
	db.Close()

	// And the server starts again on it and takes alerts.
	srv2, err := spawnServer(ctx, exe, data, "", env)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.stop()
	req, _ := http.NewRequest("POST", srv2.intakeURL(), strings.NewReader(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"AfterRestart"}}]}`))
	req.Header.Set("Authorization", "Bearer "+srv2.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after restart: %s", resp.Status)
	}
}

// TestBenchIntakeCommand runs "vigil bench intake" briefly, so that the
// documented benchmark cannot rot.
func TestBenchIntakeCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	t.Setenv("VIGIL_TEST_MAIN", "1") // the children it starts run as vigil
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"bench", "intake", "-duration", "1s", "-clients", "2", "-open", "20", "-batch", "1,10", "-json"},
		strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var res []IntakeResult
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res) != 2 || res[0].Accepted == 0 || res[1].PerRequest != 10 || res[0].ServerRSSKB == 0 || res[0].Statuses["200"] == 0 ||
		res[0].ServerCPU <= 0 || res[0].LoadCPU <= 0 {
		t.Errorf("results: %+v", res)
	}
}
