package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
)

// BenchResult is one measured operation.
type BenchResult struct {
	Name    string        `json:"name"`
	N       int           `json:"n"`
	Clients int           `json:"clients"`
	P50     time.Duration `json:"p50_ns"`
	P99     time.Duration `json:"p99_ns"`
	Max     time.Duration `json:"max_ns"`
	PerSec  float64       `json:"per_second"`
	Note    string        `json:"note,omitempty"`
}

// BenchReport is what "vigil bench store" measured.
type BenchReport struct {
	Engine     string        `json:"engine"`
	Incidents  int           `json:"incidents"`
	Timeline   int           `json:"timeline_entries"`
	GoVersion  string        `json:"go_version"`
	CPUs       int           `json:"cpus"`
	Results    []BenchResult `json:"results"`
	RSSStartKB int64         `json:"rss_start_kb"`
	RSSPeakKB  int64         `json:"rss_peak_kb"`
	HeapPeakKB int64         `json:"heap_peak_kb"`
}

func benchCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("bench store", flag.ContinueOnError)
	cfg.storeFlags(fs)
	clients := fs.Int("clients", 16, "concurrent clients creating incidents")
	creates := fs.Int("creates", 4000, "incidents to create in the create benchmark")
	rates := fs.String("rates", "", "comma-separated offered rates (creates per second) to measure besides saturation, such as 250,1000")
	reads := fs.Int("reads", 200, "iterations of each read")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	only := fs.String("only", "", "run only the operations whose name contains this")
	store := &ffcli.Command{
		Name: "store", ShortUsage: "vigil bench store [flags]", ShortHelp: "Measure store latency on the current data (fill it with vigil seed first).",
		LongHelp: "Creates go through the services with their audit events, as a responder would. Reads run as a responder, so the TLP:RED visibility rule is in every query.",
		FlagSet:  fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			stopProfile, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			return withStore(ctx, &cfg, func(s *Store) error {
				r, err := benchStore(ctx, s, *clients, *creates, *reads, *only, *rates)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(r)
				}
				printBench(stdout, r)
				return nil
			})
		},
	}
	return &ffcli.Command{
		Name: "bench", ShortUsage: "vigil bench store|pages|intake", ShortHelp: "Benchmarks.",
		FlagSet:     flag.NewFlagSet("bench", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{store, benchPagesCommand(stdout), benchIntakeCommand(stdout, stderr), benchTAXIICommand(stdout, stderr), benchIOCCommand(stdout, stderr), benchHTTPCommand(stdout, stderr)},
	}
}

func benchStore(ctx context.Context, s *Store, clients, creates, reads int, only, rates string) (*BenchReport, error) {
	svc := s.Services()
	sys := cliContext(ctx)
	r := &BenchReport{Engine: s.Engine(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), RSSStartKB: rssKB("VmRSS")}
	var err error
	if r.Incidents, err = svc.Incidents.CountIncidents(sys, vigil.IncidentFilter{}); err != nil {
		return nil, err
	}
	if err := s.Read.QueryRowContext(ctx, `SELECT count(*) FROM timeline`).Scan(&r.Timeline); err != nil {
		return nil, err
	}
	// Act as a responder: every read carries the visibility clause.
	u, err := svc.Users.FindUserByUsername(sys, "analyst01")
	if err != nil {
		return nil, fmt.Errorf("no seeded analyst01; run vigil seed first: %w", err)
	}
	actx := vigil.NewContextWithActor(ctx, &vigil.Actor{UserID: u.ID, Username: u.Username, Role: vigil.RoleResponder})

	var heapPeak uint64
	stopHeap := make(chan struct{})
	var heapWG sync.WaitGroup
	heapWG.Add(1)
	go func() {
		defer heapWG.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			heapPeak = max(heapPeak, ms.HeapInuse)
			select {
			case <-stopHeap:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	// Creates: clients goroutines, each creating incidents one after another.
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var cerr error
	start := time.Now()
	per := creates / clients
	if only != "" && !strings.Contains("create incident", only) {
		per = 0
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, per)
			for i := range per {
				t0 := time.Now()
				err := svc.Incidents.CreateIncident(actx, &vigil.Incident{Title: fmt.Sprintf("Benchmark incident %d-%d", c, i),
					Summary: "Created by vigil bench store.", Type: vigil.TypePhishing, Severity: vigil.SeverityMedium})
				local = append(local, time.Since(t0))
				if err != nil {
					mu.Lock()
					cerr = err
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if cerr != nil {
		return nil, cerr
	}
	if per > 0 {
		r.Results = append(r.Results, summarize("create incident (saturated)", clients, lat, time.Since(start), ""))
	}
	for _, rs := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(rs))
		if err != nil || rate <= 0 {
			continue
		}
		res, err := benchCreateAtRate(actx, svc, clients, rate, creates)
		if err != nil {
			return nil, err
		}
		r.Results = append(r.Results, res)
	}

	since := time.Now().Add(-30 * 24 * time.Hour)
	page, err := svc.Incidents.FindIncidents(actx, vigil.IncidentFilter{})
	if err != nil {
		return nil, err
	}
	cursor := page.NextCursor
	for range 9 { // the tenth page
		p, err := svc.Incidents.FindIncidents(actx, vigil.IncidentFilter{Cursor: cursor})
		if err != nil {
			return nil, err
		}
		cursor = p.NextCursor
	}
	list := func(f vigil.IncidentFilter) func() error {
		return func() error { _, err := svc.Incidents.FindIncidents(actx, f); return err }
	}
	count := func(f vigil.IncidentFilter) func() error {
		return func() error { _, err := svc.Incidents.CountIncidents(actx, f); return err }
	}
	search := func(q string) func() error {
		return func() error { _, err := svc.Search.Search(actx, vigil.SearchQuery{Query: q, Limit: 20}); return err }
	}
	ops := []struct {
		name string
		fn   func() error
	}{
		{"list: first page, newest first", list(vigil.IncidentFilter{})},
		{"list: tenth page (cursor)", list(vigil.IncidentFilter{Cursor: cursor})},
		{"list: open, high+critical", list(vigil.IncidentFilter{Open: ptrTo(true), Severity: []vigil.Severity{vigil.SeverityHigh, vigil.SeverityCritical}})},
		{"list: phishing, last 30 days", list(vigil.IncidentFilter{Type: []vigil.IncidentType{vigil.TypePhishing}, CreatedAfter: &since})},
		{"list: my incidents, by update", list(vigil.IncidentFilter{LeadID: &u.ID, Sort: vigil.SortUpdatedDesc})},
		{"list: sorted by severity", list(vigil.IncidentFilter{Sort: vigil.SortSeverityDesc})},
		{"list: TLP:RED only", list(vigil.IncidentFilter{TLP: []vigil.TLP{vigil.TLPRed}})},
		{"count: all visible", count(vigil.IncidentFilter{})},
		{"count: open", count(vigil.IncidentFilter{Open: ptrTo(true)})},
		{"count: open by severity", count(vigil.IncidentFilter{Open: ptrTo(true), Severity: []vigil.Severity{vigil.SeverityCritical}})},
		{"search: host name (srv04711)", search("srv04711 ")},
		{"search: rare word (countdown)", search("countdown ")},
		{"search: medium word (firewall)", search("firewall ")},
		{"search: two words (ransom note)", search("ransom note ")},
		{"search: observable (198.51.7.42)", search("198.51.7.42")},
		{"search: prefix (exfil)", search("exfil")},
		{"search: common word (email)", search("email ")},
		{"list: q=firewall, by relevance", list(vigil.IncidentFilter{Query: "firewall "})},
		{"list: q=srv04711, open only", list(vigil.IncidentFilter{Query: "srv04711 ", Open: ptrTo(true)})},
	}
	for _, op := range ops {
		if only != "" && !strings.Contains(op.name, only) {
			continue
		}
		if err := op.fn(); err != nil { // warm up, and fail early
			return nil, fmt.Errorf("%s: %w", op.name, err)
		}
		lat := make([]time.Duration, 0, reads)
		start := time.Now()
		for range reads {
			t0 := time.Now()
			if err := op.fn(); err != nil {
				return nil, fmt.Errorf("%s: %w", op.name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		r.Results = append(r.Results, summarize(op.name, 1, lat, time.Since(start), ""))
	}
	close(stopHeap)
	heapWG.Wait()
	r.RSSPeakKB = rssKB("VmHWM")
	r.HeapPeakKB = int64(heapPeak / 1024)
	return r, nil
}

func ptrTo[T any](v T) *T { return &v }

// benchCreateAtRate offers creates at a fixed total rate from clients
// goroutines (open loop: each request starts on its schedule, whether or
// not the previous one finished) and measures latency from the scheduled
// start, so waiting behind a slow request counts.
func benchCreateAtRate(ctx context.Context, svc vigil.Services, clients, rate, n int) (BenchResult, error) {
	interval := time.Second * time.Duration(clients) / time.Duration(rate)
	per := n / clients
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := interval * time.Duration(c) / time.Duration(clients)
			var inner sync.WaitGroup
			for i := range per {
				due := start.Add(offset + interval*time.Duration(i))
				time.Sleep(time.Until(due))
				inner.Add(1)
				go func() {
					defer inner.Done()
					err := svc.Incidents.CreateIncident(ctx, &vigil.Incident{Title: fmt.Sprintf("Benchmark incident at rate %d-%d", c, i),
						Type: vigil.TypePhishing, Severity: vigil.SeverityMedium})
					d := time.Since(due)
					mu.Lock()
					defer mu.Unlock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					lat = append(lat, d)
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return BenchResult{}, firstErr
	}
	return summarize(fmt.Sprintf("create incident at %d/s offered", rate), clients, lat, time.Since(start), ""), nil
}

func summarize(name string, clients int, lat []time.Duration, total time.Duration, note string) BenchResult {
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	return BenchResult{Name: name, N: len(lat), Clients: clients, P50: pct(0.50), P99: pct(0.99), Max: lat[len(lat)-1],
		PerSec: float64(len(lat)) / total.Seconds(), Note: note}
}

// startCPUProfile writes a CPU profile to path until the returned stop is
// called; with path empty it does nothing.
// withBenchStore runs fn on the configured store, for a benchmark: in a
// temporary folder, removed after, unless -data or -database names one,
// and under a CPU profile written to cpuProfile if it is set.
func withBenchStore(ctx context.Context, cfg *Config, name, cpuProfile string, fn func(*Store) error) error {
	if cfg.Database == "" && cfg.Data == "./vigil-data" {
		dir, err := os.MkdirTemp("", "vigil-bench-"+name+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Data = dir
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	return withStore(ctx, cfg, fn)
}

func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := createPrivate(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// rssKB reads a memory figure (VmRSS, VmHWM) of this process from /proc.
func rssKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func printBench(w io.Writer, r *BenchReport) {
	fmt.Fprintf(w, "Store: %s, %d incidents, %d timeline entries; %s on %d CPUs\n\n", r.Engine, r.Incidents, r.Timeline, r.GoVersion, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tclients\tn\tp50\tp99\tmax\tper second\tnote\t")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%.0f\t%s\t\n", x.Name, x.Clients, x.N, ms(x.P50), ms(x.P99), ms(x.Max), x.PerSec, x.Note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nMemory: RSS %d MB at start, peak %d MB", r.RSSStartKB/1024, r.RSSPeakKB/1024)
	if r.HeapPeakKB > 0 {
		fmt.Fprintf(w, "; Go heap in use peaked at %d MB", r.HeapPeakKB/1024)
	}
	fmt.Fprintln(w, ".")
}
