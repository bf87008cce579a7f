package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
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

// TestBenchHTTP runs the HTTP benchmark on a tiny store: every scenario
// gets answers from a real server through wrk, with no errors, and the
// search words are chosen from the store.
func TestBenchHTTP(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		if os.Getenv("VIGIL_CI") != "" {
			t.Fatal("wrk is not installed; .ci/run installs it")
		}
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	t.Setenv("VIGIL_TEST_MAIN", "1") // the servers it starts run as vigil
	data := t.TempDir()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"seed", "-data", data, "-incidents", "300", "-timeline", "4"}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	out.Reset()
	var errOut bytes.Buffer
	if err := run(t.Context(), []string{"bench", "http", "-data", data, "-clients", "1", "-duration", "1s", "-json"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("bench http: %v\n%s", err, errOut.String())
	}
	var r HTTPBenchReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench http -json: %v\n%s", err, out.String())
	}
	if r.Incidents != 300 || len(r.Words) != 6 || len(r.FirstRun) != 5 || r.Restart <= 0 {
		t.Errorf("report: %d incidents, %d words, %d first starts, restart %.0f ms", r.Incidents, len(r.Words), len(r.FirstRun), r.Restart)
	}
	seen := map[string]bool{}
	for _, run := range r.Runs {
		seen[strings.Fields(run.Scenario)[0]] = true
		if run.Requests == 0 || run.Errors != 0 || run.ServerCPU <= 0 || run.ServerRSS <= 0 {
			t.Errorf("%s at %d clients: %d requests, %d errors, %.2f ms CPU a request, %d kB RSS",
				run.Scenario, run.Clients, run.Requests, run.Errors, run.ServerCPU, run.ServerRSS)
		}
	}
	for _, s := range []string{"search", "list-query", "list", "view", "create", "intake"} {
		if !seen[s] {
			t.Errorf("no %s run in %s", s, out.String())
		}
	}
	for _, w := range r.Words {
		if w.Incidents == 0 && !strings.HasPrefix(w.Class, "two") {
			t.Errorf("word %q (%s) is in no incident", w.Query, w.Class)
		}
	}
}
