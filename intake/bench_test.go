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
