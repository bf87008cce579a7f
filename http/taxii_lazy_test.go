package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// lazySpy records, for each batch stored, whether its commit could be lazy.
type lazySpy struct {
	vigil.SharingService // only AddObjects is called
	lazy                 []bool
	sizes                []int
	failAt               int // the call (1-based) that fails; 0: none
}

func (s *lazySpy) AddObjects(ctx context.Context, _ string, objs []*vigil.IncomingObject, into *vigil.TAXIIStatus) (*vigil.TAXIIStatus, error) {
	s.lazy = append(s.lazy, vigil.DurableLater(ctx))
	s.sizes = append(s.sizes, len(objs))
	if len(s.lazy) == s.failAt {
		return nil, fmt.Errorf("disk full")
	}
	st := &vigil.TAXIIStatus{ID: "s"}
	if into != nil {
		*st = *into
	}
	st.SuccessCount += len(objs)
	return st, nil
}

// TestAddBundleDurableLater: every batch of a streamed bundle but the last
// may commit lazily; the last, stored before the answer, may not, so that
// its commit makes the others durable.
func TestAddBundleDurableLater(t *testing.T) {
	for _, n := range []int{1, 1000, 2500, 3000} {
		spy := &lazySpy{}
		st, derr, err := vigilhttp.AddBundle(context.Background(), spy, "c", strings.NewReader(testBundle(n)))
		if err != nil || derr != nil || st.SuccessCount != n {
			t.Fatalf("%d objects: %v %v %+v", n, err, derr, st)
		}
		last := len(spy.lazy) - 1
		for i, lazy := range spy.lazy {
			if lazy != (i < last) {
				t.Errorf("%d objects: batches %v stored lazily %v; want all but the last", n, spy.sizes, spy.lazy)
				break
			}
		}
	}
	// A lazy batch that fails ends the request with an error: nothing after
	// it is stored, and nobody is told the lazy ones are done.
	spy := &lazySpy{failAt: 2}
	if _, _, err := vigilhttp.AddBundle(context.Background(), spy, "c", strings.NewReader(testBundle(3500))); err == nil {
		t.Error("a failed batch: no error")
	}
	if len(spy.lazy) != 2 || !spy.lazy[0] || !spy.lazy[1] {
		t.Errorf("after a failed batch: stored %v lazily %v; want two lazy calls, then none", spy.sizes, spy.lazy)
	}
}

// testBundle is a bundle of n indicators.
func testBundle(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.0.0.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}
