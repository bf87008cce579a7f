package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/vigil-ir/vigil"
	"golang.org/x/sync/errgroup"
)

// receiver is a webhook endpoint that checks every signature with the
// Standard Webhooks reference library and counts deliveries per webhook-id.
type receiver struct {
	wh *standardwebhooks.Webhook

	mu      sync.Mutex
	total   int
	badSig  int
	byID    map[string]int
	subject map[string]string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := rc.wh.Verify(body, r.Header)
	time.Sleep(3 * time.Millisecond) // a receiver that does some work, so a kill lands mid-flight
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.total++
	rc.byID[r.Header.Get("webhook-id")]++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) counts() (total, distinct, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total, len(rc.byID), rc.badSig
}

// TestRemindersExactlyOnce is issue 5's promise on N instances: two real
// "vigil serve" processes share one PostgreSQL, 1,000 reporting-duty
// reminders come due, and the receiver gets each exactly once — and, when
// one process is SIGKILLed halfway, each still arrives, the survivor
// taking over the dead one's leased jobs, with the only repeats those the
// dead process had in flight (same webhook-id, so the receiver drops them).
func TestRemindersExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	for _, kill := range []bool{false, true} {
		name := "TwoInstances"
		if kill {
			name = "OneKilledHalfway"
		}
		t.Run(name, func(t *testing.T) { remindersExactlyOnce(t, kill) })
	}
}

const reminders = 1000

func remindersExactlyOnce(t *testing.T, kill bool) {
	ctx := t.Context()
	dbURL := testPostgresURL(t)
	rc := &receiver{byID: map[string]int{}, subject: map[string]string{}}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	// The receiver is on 127.0.0.1, which Vigil reaches only if allowed.
	allow, err := vigil.ParseOutboundAllow("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Seed: an admin, a webhook channel subscribed to duty reminders, and
	// 1,000 incidents with personal data whose ICO duty falls due 12 h and
	// a few seconds from now, so the 12 h reminders come due while both
	// servers run.
	cfg := &Config{Database: dbURL, Data: t.TempDir(), OutboundAllow: allow}
	s, err := cfg.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc := s.Services()
	sys := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	admin := &vigil.User{Username: "admin", Name: "Admin", Role: vigil.RoleAdmin, Email: "admin@example.org"}
	if err := svc.Users.CreateUser(sys, admin, "load test passphrase 1"); err != nil {
		t.Fatal(err)
	}
	adm := vigil.NewContextWithActor(ctx, &vigil.Actor{UserID: admin.ID, Username: "admin", Role: vigil.RoleAdmin})
	ch := &vigil.Channel{Name: "receiver", Kind: vigil.ChannelWebhook, URL: hook.URL, Enabled: true}
	if err := svc.Notify.CreateChannel(adm, ch); err != nil {
		t.Fatal(err)
	}
	if rc.wh, err = standardwebhooks.NewWebhook(ch.Secret); err != nil {
		t.Fatal(err)
	}
	if err := svc.Notify.CreateSubscription(adm, &vigil.Subscription{ChannelID: ch.ID,
		Events: []vigil.EventKind{vigil.EventDutyDueSoon, vigil.EventDutyOverdue}}); err != nil {
		t.Fatal(err)
	}
	aware := time.Now().Add(-72*time.Hour + 12*time.Hour + 5*time.Second)
	var g errgroup.Group
	g.SetLimit(8)
	for i := range reminders {
		g.Go(func() error {
			return svc.Incidents.CreateIncident(adm, &vigil.Incident{Title: "Customer records exposed " + string(rune('A'+i%26)),
				Status: vigil.StatusConfirmed, PersonalData: true, Times: vigil.IncidentTimes{AwareAt: &aware}})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "VIGIL_TEST_MAIN=1")
	args := []string{"-job-poll", "100ms", "-schedule-every", "1s", "-job-lease", "5s", "-notify-timeout", "2s", "-outbound-allow", "127.0.0.1"}
	var servers []*spawnedServer
	shared := t.TempDir()
	for range 2 {
		srv, err := spawnServer(ctx, exe, shared, dbURL, env, args...)
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, srv)
		defer srv.cmd.Process.Kill()
	}
	if kill {
		deadline := time.Now().Add(60 * time.Second)
		for {
			if total, _, _ := rc.counts(); total >= reminders/2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := servers[0].cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		servers[0].cmd.Wait()
		total, distinct, _ := rc.counts()
		t.Logf("killed server 1 after %d deliveries (%d distinct)", total, distinct)
		if distinct >= reminders {
			t.Fatal("the kill came after the last delivery; the test proves nothing")
		}
	}
	// Wait for all of them (a dead server's leases run out after 5 s).
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, distinct, _ := rc.counts()
		if distinct >= reminders {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d reminders arrived; server logs:\n%s\n%s", distinct, reminders, servers[0].log.String(), servers[1].log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Deliveries the dead worker made but did not record are made again
	// once its leases run out (5 s after the kill): wait until the store
	// has every one sent, then a little longer, for any duplicate to show.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(60 * time.Second); ; {
		var sent int
		db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'sent'`).Scan(&sent)
		if sent >= reminders || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	total, distinct, bad := rc.counts()
	t.Logf("receiver: %d deliveries, %d distinct webhook-ids, %d bad signatures", total, distinct, bad)
	if bad != 0 {
		t.Errorf("%d deliveries with a bad signature", bad)
	}
	if distinct != reminders {
		t.Errorf("%d distinct reminders arrived, want %d", distinct, reminders)
	}
	rc.mu.Lock()
	dups := 0
	for _, n := range rc.byID {
		dups += n - 1
	}
	rc.mu.Unlock()
	if !kill && total != reminders {
		t.Errorf("%d deliveries for %d reminders: not exactly once", total, reminders)
	}
	if kill && dups > 8 { // at most what the dead worker had in flight (its concurrency)
		t.Errorf("%d repeated deliveries after the kill; at most the 8 in flight may repeat", dups)
	}

	// The store agrees: every reminder queued once, every delivery sent,
	// and (without a kill) both instances did some of the work.
	var events, sent, other int
	db.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = 'event' AND unique_key LIKE 'duty:%'`).Scan(&events)
	db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'sent'`).Scan(&sent)
	db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status <> 'sent'`).Scan(&other)
	if events != reminders || sent != reminders || other != 0 {
		t.Errorf("store: %d reminder events, %d deliveries sent, %d not sent; want %d, %d, 0", events, sent, other, reminders, reminders)
	}
	rows, err := db.QueryContext(ctx, `SELECT locked_by, count(*) FROM jobs WHERE kind = 'deliver' GROUP BY locked_by ORDER BY 2 DESC`)
	if err != nil {
		t.Fatal(err)
	}
	var shares []string
	for rows.Next() {
		var by sql.NullString
		var n int
		rows.Scan(&by, &n)
		shares = append(shares, fmt.Sprintf("%s=%d", by.String, n))
	}
	rows.Close()
	t.Logf("deliveries sent by worker: %s", strings.Join(shares, ", "))
	if len(shares) < 2 {
		t.Errorf("one instance did all the work (%v); the test did not exercise two", shares)
	}
	var timeline int
	db.QueryRowContext(ctx, `SELECT count(*) FROM timeline WHERE kind = 'notification'`).Scan(&timeline)
	if timeline != reminders {
		t.Errorf("%d notification entries on timelines, want %d", timeline, reminders)
	}
	servers[1].stop()
}
