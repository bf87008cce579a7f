package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/web"
)

// benchPagesCommand measures server-side rendering of the main pages on the
// current data: each request goes through the whole handler stack
// (middleware, session lookup, services, templates) in process, without
// the network, as the seeded responder analyst01.
func benchPagesCommand(stdout io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("bench pages", flag.ContinueOnError)
	cfg.storeFlags(fs)
	reads := fs.Int("reads", 200, "requests per page")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return &ffcli.Command{
		Name: "pages", ShortUsage: "vigil bench pages [flags]",
		ShortHelp: "Measure how fast the web pages render on the current data (fill it with vigil seed first).",
		LongHelp:  "Sets a password on the seeded analyst01 to log in; never run it on a production store.",
		FlagSet:   fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				r, err := benchPages(ctx, s, *reads)
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
}

func benchPages(ctx context.Context, s *Store, reads int) (*BenchReport, error) {
	svc := s.Services()
	sys := cliContext(ctx)
	r := &BenchReport{Engine: s.Engine(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), RSSStartKB: rssKB("VmRSS")}
	var err error
	if r.Incidents, err = svc.Incidents.CountIncidents(sys, vigil.IncidentFilter{}); err != nil {
		return nil, err
	}
	u, err := svc.Users.FindUserByUsername(sys, "analyst01")
	if err != nil {
		return nil, fmt.Errorf("no seeded analyst01; run vigil seed first: %w", err)
	}
	const pw = "bench password for the page benchmark"
	if err := svc.Users.SetPassword(sys, u.ID, "", pw); err != nil {
		return nil, err
	}
	_, secret, err := svc.Auth.Login(ctx, u.Username, pw)
	if err != nil {
		return nil, err
	}
	srv := vigilhttp.NewServer(svc, nil)
	ui, err := web.New(svc, nil)
	if err != nil {
		return nil, err
	}
	srv.Mount(ui.Register)
	cookie := vigilhttp.SessionCookieFor(secret, time.Now().Add(time.Hour), false)

	get := func(path string) (int, int, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			return 0, w.Code, fmt.Errorf("GET %s: status %d", path, w.Code)
		}
		return w.Body.Len(), w.Code, nil
	}
	// The oldest incident the analyst can see: a seeded one, with a timeline and observables.
	page, err := svc.Incidents.FindIncidents(vigil.NewContextWithActor(ctx, &vigil.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}),
		vigil.IncidentFilter{Sort: vigil.SortCreatedAsc, Limit: 1})
	if err != nil || len(page.Items) == 0 {
		return nil, fmt.Errorf("no incident to show: %v", err)
	}
	incPath := fmt.Sprintf("/incidents/%d", page.Items[0].ID)
	pages := []struct{ name, path string }{
		{"page: dashboard", "/"},
		{"page: incident list, first page", "/incidents"},
		{"page: incident list, filtered and sorted", "/incidents?open=true&severity=high&sort=-updated_at"},
		{"page: incident list, search", "/incidents?q=firewall"},
		{"page: incident", incPath},
		{"page: new incident form", "/incidents/new"},
		{"page: staff report form", "/report"},
	}
	for _, p := range pages {
		lat := make([]time.Duration, 0, reads)
		var size int
		start := time.Now()
		for range reads {
			t0 := time.Now()
			n, _, err := get(p.path)
			if err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t0))
			size = n
		}
		r.Results = append(r.Results, summarize(p.name, 1, lat, time.Since(start), fmt.Sprintf("%d KB", (size+1023)/1024)))
	}
	// The incident page's whole transfer, uncached: the HTML and the assets it loads.
	html := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, incPath, nil)
	req.AddCookie(cookie)
	srv.ServeHTTP(html, req)
	total := html.Body.Len()
	for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(html.Body.String(), -1) {
		n, _, err := get(m[1])
		if err != nil {
			return nil, err
		}
		total += n
	}
	r.Results = append(r.Results, BenchResult{Name: "incident page transfer, uncached (HTML + CSS + JS)", N: 1,
		Note: fmt.Sprintf("%d bytes (%.1f KB), before compression", total, float64(total)/1024)})
	r.RSSPeakKB = rssKB("VmHWM")
	return r, nil
}
