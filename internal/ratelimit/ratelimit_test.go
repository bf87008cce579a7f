package ratelimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := New(3, time.Minute)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow("a", t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	ok, wait := l.Allow("a", t0.Add(10*time.Second))
	if ok || wait != 50*time.Second {
		t.Fatalf("fourth event: ok=%v wait=%v, want refused for 50s", ok, wait)
	}
	if ok, _ := l.Allow("b", t0.Add(10*time.Second)); !ok {
		t.Fatal("another key is limited too")
	}
	if ok, _ := l.Allow("a", t0.Add(61*time.Second)); !ok {
		t.Fatal("the window should have slid past the first event")
	}
}
