package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestSeedAndBench runs the benchmark commands on a small seeded store, so
// that "make bench" cannot rot between the times someone runs it.
func TestSeedAndBench(t *testing.T) {
	data := t.TempDir()
	run1 := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(t.Context(), args, strings.NewReader(""), &out, &out); err != nil {
			t.Fatalf("vigil %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	run1("seed", "-data", data, "-incidents", "300", "-timeline", "4")
	out := run1("bench", "store", "-data", data, "-creates", "64", "-clients", "4", "-reads", "3", "-rates", "500")
	for _, want := range []string{"create incident (saturated)", "create incident at 500/s offered", "300 incidents"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench store output lacks %q:\n%s", want, out)
		}
	}
	out = run1("bench", "pages", "-data", data, "-reads", "3")
	for _, want := range []string{"page: dashboard", "page: incident list, search", "page: incident ", "incident page transfer"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench pages output lacks %q:\n%s", want, out)
		}
	}
	out = run1("bench", "ioc", "-alerts", "2000", "-indicators", "3000", "-new-alerts", "500")
	// The run counts the hits it expects from how it made the data; the
	// matcher must find exactly those.
	for _, line := range []string{"retro-hunt", "new alerts"} {
		m := regexp.MustCompile(line + `: .* (\d+) hits \(expected (\d+)\)`).FindStringSubmatch(out)
		if m == nil || m[1] != m[2] || m[2] == "0" {
			t.Errorf("bench ioc %s: hits differ from what the data holds (%q):\n%s", line, m, out)
		}
	}
}
