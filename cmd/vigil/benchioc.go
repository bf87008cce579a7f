package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// IOCBenchReport is what "vigil bench ioc" measured.
type IOCBenchReport struct {
	Engine          string  `json:"engine"`
	Alerts          int     `json:"alerts"`
	Observables     int     `json:"observables"`
	Indicators      int     `json:"indicators"`
	RetroSeconds    float64 `json:"retro_seconds"` // indexing the indicators and hunting through the alerts seen
	RetroPerSec     float64 `json:"retro_indicators_per_second"`
	RetroHits       int     `json:"retro_hits"`
	NewAlerts       int     `json:"new_alerts"`
	ForwardSeconds  float64 `json:"forward_seconds"`
	ForwardPerSec   float64 `json:"forward_alerts_per_second"`
	ForwardHits     int     `json:"forward_hits"`
	ExpectedHits    int     `json:"expected_hits"`
	ExpectedForward int     `json:"expected_forward_hits"`
}

func benchIOCCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("bench ioc", flag.ContinueOnError)
	cfg.storeFlags(fs)
	alerts := fs.Int("alerts", 100000, "alerts seen before the intelligence arrives (3 observables each)")
	indicators := fs.Int("indicators", 100000, "indicators that arrive")
	fresh := fs.Int("new-alerts", 20000, "alerts that arrive after the intelligence")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	return &ffcli.Command{
		Name: "ioc", ShortUsage: "vigil bench ioc [-alerts N] [-indicators N] [-data DIR | -database URL]",
		ShortHelp: "Time IOC matching: retro-hunting new indicators through past alerts, and matching new alerts.",
		FlagSet:   fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withBenchStore(ctx, &cfg, "ioc", *cpuProfile, func(s *Store) error {
				r, err := benchIOC(ctx, s, *alerts, *indicators, *fresh, stderr)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(stdout).Encode(r)
				}
				fmt.Fprintf(stdout, "engine %s: %d alerts with %d observables seen, then %d indicators\n", r.Engine, r.Alerts, r.Observables, r.Indicators)
				fmt.Fprintf(stdout, "retro-hunt: %.1f s, %.0f indicators/s, %d hits (expected %d)\n", r.RetroSeconds, r.RetroPerSec, r.RetroHits, r.ExpectedHits)
				fmt.Fprintf(stdout, "new alerts: %d matched in %.1f s, %.0f alerts/s, %d hits (expected %d)\n", r.NewAlerts, r.ForwardSeconds, r.ForwardPerSec, r.ForwardHits, r.ExpectedForward)
				return nil
			})
		},
	}
}

// benchIOC seeds alerts, each with an address, a host name and a URL, then
// indicators of which one in a hundred names what an alert held (an
// address, the parent domain of a host, or an address block), and times
// the matching rounds until all are done; then new alerts, one in a hundred
// matching.
func benchIOC(ctx context.Context, s *Store, nAlerts, nInd, nNew int, progress io.Writer) (*IOCBenchReport, error) {
	sys := cliContext(ctx)
	svc := s.Services()
	r := &IOCBenchReport{Engine: s.Engine(), Alerts: nAlerts, Indicators: nInd, NewAlerts: nNew}
	in := &vigil.Integration{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Kind: vigil.IntegrationAlertmanager}
	if _, err := svc.Integrations.CreateIntegration(sys, in); err != nil {
		return nil, err
	}
	ingest := func(from, n int) error {
		for lo := from; lo < from+n; lo += 1000 {
			var batch []*vigil.AlertInput
			for i := lo; i < min(lo+1000, from+n); i++ {
				v := i % max(nAlerts, 1) // new alerts see the old values again
				a := &vigil.AlertInput{Fingerprint: fmt.Sprintf("fp-%d", i), Title: "Outbound connection", Labels: map[string]string{"alertname": "conn"},
					Observables: []vigil.ObservableInput{
						{Type: vigil.ObsIPv4, Value: fmt.Sprintf("10.%d.%d.%d", v>>16&255, v>>8&255, v&255)},
						{Type: vigil.ObsHostname, Value: fmt.Sprintf("h%d.d%d.example", v, v)},
						{Type: vigil.ObsURL, Value: fmt.Sprintf("https://u%d.example/p", v)},
					}}
				a.Prepare(in)
				batch = append(batch, a)
			}
			if _, err := svc.Alerts.IngestAlerts(context.Background(), in, batch); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(progress, "ingesting %d alerts\n", nAlerts)
	if err := ingest(0, nAlerts); err != nil {
		return nil, err
	}
	r.Observables = 3 * nAlerts
	// Let matching read past the alerts first, so that the rounds timed
	// below are the retro-hunt.
	if _, _, err := matchRounds(sys, svc); err != nil {
		return nil, err
	}
	c := &vigil.Collection{Title: fmt.Sprintf("bench %d", time.Now().UnixNano())}
	if err := svc.Sharing.CreateCollection(sys, c); err != nil {
		return nil, err
	}
	// Indicators: i%100 == 0 names alert i's address, i%100 == 1 the
	// parent domain of alert i's host, i%1000 == 2 a /24 holding alert i's
	// address; the rest name nothing seen.
	fmt.Fprintf(progress, "importing %d indicators\n", nInd)
	mk := func(i int) string {
		j := i % max(nAlerts, 1)
		switch {
		case i%100 == 0:
			return fmt.Sprintf("[ipv4-addr:value = '10.%d.%d.%d']", j>>16&255, j>>8&255, j&255)
		case i%100 == 1:
			return fmt.Sprintf("[domain-name:value = 'd%d.example']", j)
		case i%1000 == 2:
			return fmt.Sprintf("[ipv4-addr:value ISSUBSET '10.%d.%d.0/24']", j>>16&255, j>>8&255)
		case i%3 == 0:
			return fmt.Sprintf("[domain-name:value = 'nothing-%d.example']", i)
		case i%3 == 1:
			return fmt.Sprintf("[url:value = 'https://nothing-%d.example/x']", i)
		}
		return fmt.Sprintf("[ipv4-addr:value = '192.168.%d.%d']", i>>8&255, i&255)
	}
	for lo := 0; lo < nInd; lo += 1000 {
		var objs []*vigil.IncomingObject
		for i := lo; i < min(lo+1000, nInd); i++ {
			raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":%q,"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":50}`, i, mk(i))
			info, err := stix.Check([]byte(raw))
			if err != nil {
				return nil, err
			}
			objs = append(objs, &vigil.IncomingObject{Raw: []byte(raw), ID: info.ID, Type: info.Type, SpecVersion: info.SpecVersion, Version: info.Version})
		}
		if _, err := svc.Sharing.AddObjects(sys, c.ID, objs, nil); err != nil {
			return nil, err
		}
	}
	// Expected: an address or a domain indicator hits one alert (its
	// address; its host); a /24 holds 256 alerts' addresses (fewer at the
	// end of the range).
	for i := 0; i < nInd; i++ {
		j := i % max(nAlerts, 1)
		switch {
		case i%100 == 0, i%100 == 1:
			r.ExpectedHits++
		case i%1000 == 2:
			base := j &^ 255
			r.ExpectedHits += min(256, nAlerts-base)
		}
	}
	settle(r.Engine, progress)
	fmt.Fprintln(progress, "matching")
	start := time.Now()
	hits, _, err := matchRounds(sys, svc)
	if err != nil {
		return nil, err
	}
	r.RetroSeconds = time.Since(start).Seconds()
	r.RetroHits = hits
	r.RetroPerSec = float64(nInd) / r.RetroSeconds
	// New alerts: the same values again, under new fingerprints.
	fmt.Fprintf(progress, "ingesting %d new alerts\n", nNew)
	if err := ingest(nAlerts, nNew); err != nil {
		return nil, err
	}
	// They see old values again: each hits the indicators that name its
	// address, its host's domain or its address's block.
	named := map[string]int{}
	for i := 0; i < nInd; i++ {
		j := i % max(nAlerts, 1)
		switch {
		case i%100 == 0, i%100 == 1:
			named[fmt.Sprint(j)]++
		case i%1000 == 2:
			named[fmt.Sprintf("/%d", j>>8)]++
		}
	}
	for i := nAlerts; i < nAlerts+nNew; i++ {
		v := i % max(nAlerts, 1)
		r.ExpectedForward += named[fmt.Sprint(v)] + named[fmt.Sprintf("/%d", v>>8)]
	}
	settle(r.Engine, progress)
	start = time.Now()
	hits, _, err = matchRounds(sys, svc)
	if err != nil {
		return nil, err
	}
	r.ForwardSeconds = time.Since(start).Seconds()
	r.ForwardHits = hits
	r.ForwardPerSec = float64(nNew) / r.ForwardSeconds
	return r, nil
}

// settle waits, on PostgreSQL, until what was just written is older than
// the lag matching keeps behind the present (sqlstore's CommitLag), so
// the rounds timed next see it.
func settle(engine string, progress io.Writer) {
	if engine == "postgres" {
		fmt.Fprintln(progress, "waiting 11 s: matching reads rows 10 s old on PostgreSQL")
		time.Sleep(11 * time.Second)
	}
}

// matchRounds runs matching until nothing is left; it returns the hits
// and the rounds.
func matchRounds(ctx context.Context, svc vigil.Services) (hits, rounds int, err error) {
	for {
		st, err := svc.IOC.MatchIOCs(ctx, 1000)
		if err != nil {
			return hits, rounds, err
		}
		hits += st.Hits
		rounds++
		if !st.More {
			return hits, rounds, nil
		}
	}
}
