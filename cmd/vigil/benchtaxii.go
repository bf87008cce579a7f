package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// TAXIIBenchReport is what "vigil bench taxii" measured.
type TAXIIBenchReport struct {
	Engine         string  `json:"engine"`
	Objects        int     `json:"objects"`
	BundleMB       float64 `json:"bundle_mb"`
	ImportSeconds  float64 `json:"import_seconds"`
	ImportPerSec   float64 `json:"import_objects_per_second"`
	Pages          int     `json:"pages"`
	PageP50MS      float64 `json:"page_p50_ms"`
	PageP99MS      float64 `json:"page_p99_ms"`
	PageMaxMS      float64 `json:"page_max_ms"`
	ReadPerSec     float64 `json:"read_objects_per_second"`
	HeapDuringMB   float64 `json:"heap_in_use_mb_max"`
	RSSPeakMB      float64 `json:"rss_peak_mb"`
	ObjectsInPages int     `json:"objects_read"`
}

func benchTAXIICommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("bench taxii", flag.ContinueOnError)
	cfg.storeFlags(fs)
	n := fs.Int("objects", 1000000, "objects in the bundle to import, then to read back")
	limit := fs.Int("limit", 1000, "page size of the reads")
	asJSON := fs.Bool("json", false, "print JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	return &ffcli.Command{
		Name: "taxii", ShortUsage: "vigil bench taxii [-objects N] [-data DIR | -database URL]",
		ShortHelp: "Import a generated STIX bundle streamed, then read the collection back through TAXII GET objects.",
		FlagSet:   fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withBenchStore(ctx, &cfg, "taxii", *cpuProfile, func(s *Store) error {
				r, err := benchTAXII(ctx, s, *n, *limit, stderr)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(stdout).Encode(r)
				}
				fmt.Fprintf(stdout, "engine %s, %d objects, bundle %.1f MB\n", r.Engine, r.Objects, r.BundleMB)
				fmt.Fprintf(stdout, "import: %.1f s, %.0f objects/s\n", r.ImportSeconds, r.ImportPerSec)
				fmt.Fprintf(stdout, "GET objects limit=%d: %d pages, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f objects/s\n",
					*limit, r.Pages, r.PageP50MS, r.PageP99MS, r.PageMaxMS, r.ReadPerSec)
				fmt.Fprintf(stdout, "memory: Go heap in use at most %.0f MB while importing and reading; peak RSS %.0f MB\n", r.HeapDuringMB, r.RSSPeakMB)
				return nil
			})
		},
	}
}

func benchTAXII(ctx context.Context, s *Store, n, limit int, progress io.Writer) (*TAXIIBenchReport, error) {
	sys := cliContext(ctx)
	svc := s.Services()
	r := &TAXIIBenchReport{Engine: s.Engine(), Objects: n}
	c := &vigil.Collection{Title: fmt.Sprintf("bench %d", time.Now().UnixNano())}
	if err := svc.Sharing.CreateCollection(sys, c); err != nil {
		return nil, err
	}
	// The bundle, written to a file first so the import reads it as a
	// stream, as an upload or a feed would be.
	dir, err := os.MkdirTemp("", "vigil-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bundle.json")
	f, err := createPrivate(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`)
	marks := []string{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
		"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"}
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-%012x","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Bench indicator %d","description":"A command and control address seen in the sector's incident reports.","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","pattern_version":"2.1","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":[%q]}`,
			i, i, i, i>>16&255, i>>8&255, i&255, marks[i%len(marks)])
	}
	fmt.Fprint(w, "]}\n")
	if err := w.Flush(); err != nil {
		return nil, err
	}
	f.Close()
	st, _ := os.Stat(path)
	r.BundleMB = float64(st.Size()) / (1 << 20)

	var heapMax uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				heapMax = max(heapMax, ms.HeapInuse)
			}
		}
	}()

	if s.Engine() == "postgres" {
		// The import should not pay for flushing what ran before it (an
		// earlier run's writes). CHECKPOINT needs superuser or the
		// pg_checkpoint role; without it the run goes on.
		if _, err := s.DB.Write.ExecContext(ctx, `CHECKPOINT`); err != nil {
			fmt.Fprintf(progress, "no CHECKPOINT before the import (%v); the figure may include earlier work\n", err)
		}
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	status, derr, err := vigilhttp.AddBundle(sys, svc.Sharing, c.ID, bufio.NewReaderSize(in, 1<<20))
	in.Close()
	if err != nil || derr != nil {
		return nil, fmt.Errorf("import: %v %v", err, derr)
	}
	if status.SuccessCount != n {
		return nil, fmt.Errorf("import: %d of %d objects", status.SuccessCount, n)
	}
	r.ImportSeconds = time.Since(start).Seconds()
	r.ImportPerSec = float64(n) / r.ImportSeconds
	fmt.Fprintf(progress, "imported %d objects in %.1f s\n", n, r.ImportSeconds)

	// Read it back through the real TAXII handler, over HTTP.
	srv := vigilhttp.NewServer(svc, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	token, err := svc.Sharing.CreatePartner(sys, &vigil.Partner{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), MaxTLP: vigil.TLPAmber,
		Access: []vigil.CollectionAccess{{CollectionID: c.ID, Read: true}}})
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	next := ""
	start = time.Now()
	for {
		u := fmt.Sprintf("%s/taxii2/api/collections/%s/objects/?limit=%d", ts.URL, c.ID, limit)
		if next != "" {
			u += "&next=" + next
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.Header.Set("Accept", vigilhttp.TAXIIMediaType)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			err = gojson.Unmarshal(body, &env) // a fast client, so the figure is the server's
		}
		if err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("page %d: %d %v", len(lat), resp.StatusCode, err)
		}
		lat = append(lat, time.Since(t0))
		r.ObjectsInPages += len(env.Objects)
		if !env.More {
			break
		}
		next = env.Next
	}
	elapsed := time.Since(start)
	close(stop)
	<-done
	if r.ObjectsInPages != n {
		return nil, fmt.Errorf("read %d of %d objects", r.ObjectsInPages, n)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.Pages = len(lat)
	r.PageP50MS, r.PageP99MS, r.PageMaxMS = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
	r.ReadPerSec = float64(n) / elapsed.Seconds()
	r.HeapDuringMB = float64(heapMax) / (1 << 20)
	r.RSSPeakMB = float64(rssKB("VmHWM")) / 1024
	return r, nil
}
