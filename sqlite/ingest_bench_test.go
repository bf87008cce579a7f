package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
	"github.com/vigil-ir/vigil/storetest"
)

// BenchmarkIngest is the store's side of "vigil bench intake": concurrent
// single-alert Alertmanager requests, 90 % of them repeats of 1,000 firing
// alerts, the rest new alerts; ns/op is wall time per request with 32
// callers (run with -cpu 2 for the machine of the targets). It leaves out
// HTTP, to weigh changes to the write path.
func BenchmarkIngest(b *testing.B) {
	db := MustOpenDB(b)
	s := &storetest.Store{Services: db.Services(), Engine: "sqlite"}
	admin, _ := storetest.MustCreateUser(b, s, vigil.RoleAdmin)
	in := &vigil.Integration{Name: "Bench", Kind: vigil.IntegrationAlertmanager}
	if _, err := s.Integrations.CreateIntegration(admin, in); err != nil {
		b.Fatal(err)
	}
	payload := func(fp string) []byte {
		return fmt.Appendf(nil, `{"version":"4","groupKey":"{}:{alertname=\"HighRequestLatency\"}","status":"firing","receiver":"vigil",`+
			`"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager.example:9093","alerts":[`+
			`{"status":"firing","labels":{"alertname":"HighRequestLatency","instance":"api-%s:9100","job":"api","severity":"warning"},`+
			`"annotations":{"summary":"High request latency on api-%s","description":"p99 latency above 500ms for 10 minutes."},`+
			`"startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph","fingerprint":%q}]}`,
			fp, fp, fp)
	}
	ingest := func(fp string) {
		alerts, err := intake.Parse(in, payload(fp))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Alerts.IngestAlerts(context.Background(), in, alerts); err != nil {
			b.Fatal(err)
		}
	}
	const open = 1000
	for i := range open {
		ingest(fmt.Sprintf("open%06d", i))
	}
	var seq atomic.Int64
	b.SetParallelism(16) // 32 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(seq.Add(1)), 1))
		for pb.Next() {
			fp := fmt.Sprintf("open%06d", rng.IntN(open))
			if rng.Float64() >= 0.9 {
				fp = fmt.Sprintf("new%d", seq.Add(1))
			}
			ingest(fp)
		}
	})
}
