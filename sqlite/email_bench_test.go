package sqlite_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/intake/email"
	"github.com/vigil-ir/vigil/storetest"
)

// BenchmarkEmailIntake measures reported messages parsed and stored, one
// at a time as the mailbox poller and the upload endpoint take them: each
// message is parsed, made an alert (grouped by campaign) and stored with
// its evidence (the message, the attached suspect and its attachments in
// the blob store, each with its custody entry). The messages are the
// corpus's Outlook forward with a zip and an HTML attachment, each made a
// distinct report (another reporter and Message-ID), so every one is a
// new alert. Run: go test ./sqlite -run '^$' -bench EmailIntake -benchtime 10000x
func BenchmarkEmailIntake(b *testing.B) {
	db := MustOpenDB(b)
	var err error
	if db.Blobs, err = blob.Open(b.TempDir()); err != nil {
		b.Fatal(err)
	}
	s := &storetest.Store{Services: db.Services(), Engine: "sqlite"}
	admin, _ := storetest.MustCreateUser(b, s, vigil.RoleAdmin)
	in := &vigil.Integration{Name: "Bench", Kind: vigil.IntegrationEmail}
	if _, err := s.Integrations.CreateIntegration(admin, in); err != nil {
		b.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join("..", "intake", "email", "testdata", "corpus", "outlook-attached.eml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		raw := bytes.Replace(tmpl, []byte("Anna.Staff@Example.org"), fmt.Appendf(nil, "staff%06d@example.org", i), 1)
		raw = bytes.Replace(raw, []byte("phish-0002@"), fmt.Appendf(nil, "phish-%06d@", i), 1)
		rep, err := email.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		a := rep.Alert(in, raw, email.Source{From: "bench", Method: "bench", At: time.Now()})
		a.Prepare(in)
		res, err := s.Alerts.IngestAlerts(b.Context(), in, []*vigil.AlertInput{a})
		if err != nil {
			b.Fatal(err)
		}
		if res.Created != 1 {
			b.Fatalf("message %d: %+v", i, res)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
