package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

func TestSTIXExportCommand(t *testing.T) {
	data := t.TempDir()
	cfg := &Config{Data: data}
	s, err := cfg.openStore(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx := cliContext(t.Context())
	inc := &vigil.Incident{Title: "Invoice phishing", Status: vigil.StatusConfirmed, TLP: vigil.TLPAmber}
	if err := s.Services().Incidents.CreateIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Services().Observables.AddObservables(ctx, inc.ID, []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9", IOC: true}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := filepath.Join(t.TempDir(), "bundle.json")
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"stix", "export", "-data", data, "-o", file, "-report", strings.ToLower(inc.Reference)}, nil, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var bundle stix.Bundle
	if err := json.Unmarshal(b, &bundle); err != nil || bundle.Type != "bundle" {
		t.Fatalf("bundle: %v %s", err, b)
	}
	if !strings.Contains(string(b), `[ipv4-addr:value = '203.0.113.9']`) || !strings.Contains(errOut.String(), "STIX objects") {
		t.Errorf("export:\n%s\n%s", b, errOut.String())
	}
	if err := run(t.Context(), []string{"stix", "export", "-data", data, "INC-1999-000001"}, nil, &out, &errOut); err == nil {
		t.Error("an unknown incident exported")
	}
}

func TestTAXIICommands(t *testing.T) {
	data := t.TempDir()
	cli := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		n := 2 // command words before the flags
		if args[0] == "taxii" {
			n = 3
		}
		full := append([]string{}, args[:n]...)
		full = append(full, "-data", data)
		full = append(full, args[n:]...)
		err := run(t.Context(), full, nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := cli("taxii", "collection", "add", "-title", "Sector IOCs")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	coll := strings.TrimSpace(out)
	if out, err := cli("taxii", "collection", "list"); err != nil || !strings.Contains(out, coll) {
		t.Errorf("collection list: %v %s", err, out)
	}
	// Import an exported bundle: every object goes in; again, all are there already.
	file := filepath.Join(t.TempDir(), "b.json")
	b, _ := (&stix.Export{Org: "Anytown", Incident: &vigil.Incident{Reference: "INC-2026-000001", Title: "x", TLP: vigil.TLPGreen},
		Observables: []*vigil.Observable{{Type: vigil.ObsIPv4, Value: "203.0.113.9", IOC: true}}}).Bundle()
	raw, _ := json.Marshal(b)
	os.WriteFile(file, raw, 0o600)
	for range 2 {
		out, err := cli("stix", "import", "-collection", coll, file)
		if err != nil || !strings.Contains(out, fmt.Sprintf("%d objects: %d imported", len(b.Objects), len(b.Objects))) {
			t.Errorf("import: %v %s", err, out)
		}
	}
	os.WriteFile(file, []byte(`{"type":"bundle","objects":[{"type":"indicator","id":"indicator--bad"}]}`), 0o600)
	if out, err := cli("stix", "import", "-collection", coll, file); err == nil || !strings.Contains(out, "1 refused") {
		t.Errorf("bad bundle: %v %s", err, out)
	}
	out, err = cli("taxii", "partner", "add", "-name", "green-bank", "-read", coll, "-tlp", "green")
	if err != nil || !strings.Contains(out, "token: vgp_") {
		t.Fatalf("partner add: %v %s", err, out)
	}
	if out, err := cli("taxii", "partner", "add", "-name", "greedy", "-tlp", "red"); err == nil || !strings.Contains(out+err.Error(), "AMBER") {
		t.Errorf("partner cleared for RED: %v %s", err, out)
	}
	if out, err := cli("taxii", "partner", "list"); err != nil || !strings.Contains(out, "green-bank") || !strings.Contains(out, coll+":r") {
		t.Errorf("partner list: %v %s", err, out)
	}
	if out, err := cli("taxii", "partner", "revoke", "green-bank"); err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %v %s", err, out)
	}
	if out, _ := cli("taxii", "partner", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("list after revoke: %s", out)
	}
}

func TestTAXIIFeedCommands(t *testing.T) {
	data := t.TempDir()
	cli := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		full := append(append(append([]string{}, args[:3]...), "-data", data), args[3:]...)
		err := run(t.Context(), full, nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := cli("taxii", "collection", "add", "-title", "From the CERT")
	if err != nil {
		t.Fatal(err)
	}
	coll := strings.TrimSpace(out)
	t.Setenv("VIGIL_FEED_SECRET", "vgp_secret")
	// A feed on this machine is refused unless -outbound-allow names it.
	if out, err := cli("taxii", "feed", "add", "-name", "cert", "-url", "http://127.0.0.1:1/taxii2/api/collections/x", "-collection", coll, "-interval", "10m"); err == nil || !strings.Contains(out+err.Error(), "outbound-allow") {
		t.Errorf("feed on loopback added without an allow-list: %v %s", err, out)
	}
	t.Setenv("VIGIL_OUTBOUND_ALLOW", "127.0.0.1")
	if out, err := cli("taxii", "feed", "add", "-name", "cert", "-url", "http://127.0.0.1:1/taxii2/api/collections/x", "-collection", coll, "-interval", "10m"); err != nil {
		t.Fatalf("feed add: %v %s", err, out)
	}
	if out, err := cli("taxii", "feed", "poll", "1"); err == nil || !strings.Contains(out+err.Error(), "cannot reach the feed") {
		t.Errorf("poll of an unreachable feed: %v %s", err, out)
	}
	t.Setenv("VIGIL_OUTBOUND_ALLOW", "10.0.0.0/8")
	if out, err := cli("taxii", "feed", "poll", "1"); err == nil || !strings.Contains(out+err.Error(), "loopback") {
		t.Errorf("poll of a feed on loopback, no longer allowed: %v %s", err, out)
	}
	t.Setenv("VIGIL_OUTBOUND_ALLOW", "127.0.0.1")
	if out, err := cli("taxii", "feed", "poll", "1"); err == nil || !strings.Contains(out+err.Error(), "cannot reach the feed") {
		t.Errorf("poll of an unreachable feed: %v %s", err, out)
	}
	if out, err := cli("taxii", "feed", "list"); err != nil || !strings.Contains(out, "cert") || !strings.Contains(out, "cannot reach") || strings.Contains(out, "vgp_secret") {
		t.Errorf("feed list: %v %s", err, out)
	}
	if out, err := cli("taxii", "feed", "add", "-name", "bad", "-url", "ftp://x", "-collection", coll); err == nil {
		t.Errorf("bad feed accepted: %s", out)
	}
}
