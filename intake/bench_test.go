package intake

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func BenchmarkParseAlertmanager(b *testing.B) {
	body := fixture(b, "alertmanager-firing.json")
	in := integration(vigil.IntegrationAlertmanager)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(in, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePrepare is a new alert's cost before the store: parsing,
// then finding its observables (what a repeat skips).
func BenchmarkParsePrepare(b *testing.B) {
	for _, c := range []struct {
		kind vigil.IntegrationKind
		name string
	}{{vigil.IntegrationAlertmanager, "alertmanager-firing.json"}, {vigil.IntegrationWazuh, "wazuh-syscheck.json"}} {
		body := fixture(b, c.name)
		in := integration(c.kind)
		b.Run(string(c.kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				alerts, err := Parse(in, body)
				if err != nil {
					b.Fatal(err)
				}
				for _, a := range alerts {
					a.PrepareObservables()
				}
			}
		})
	}
}
