package main

import (
	"bytes"
	"encoding/json"
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
