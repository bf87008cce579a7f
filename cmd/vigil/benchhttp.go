package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/sqlstore"
)

// The HTTP benchmark measures what users meet: a real "vigil serve" driven
// over HTTP by wrk, an independent load generator, at several numbers of
// clients, as a seeded responder (so the visibility rules are in every
// query), with search words chosen by how many incidents hold them. This
// command only prepares the stores, starts the servers, writes wrk's Lua
// scripts and reads /proc; every request is made by wrk.

// HTTPBenchRun is one wrk run: a scenario at one number of clients.
type HTTPBenchRun struct {
	Scenario  string  `json:"scenario"`
	Detail    string  `json:"detail,omitempty"` // the words, or what is sent
	Clients   int     `json:"clients"`
	Requests  int64   `json:"requests"`
	PerSecond float64 `json:"requests_per_second"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	// Errors counts failed connections, reads, writes, time-outs and
	// answers other than 2xx and 3xx.
	Errors int64 `json:"errors"`
	// ServerCPU is the server's CPU time (user and system) per request.
	ServerCPU float64 `json:"server_cpu_ms_per_request"`
	// ServerRSS is the server's peak resident memory so far (VmHWM), and
	// ServerAnon its own memory after the run (RssAnon): the rest of its
	// resident memory is file pages, SQLite's mapped database among them,
	// which the kernel shares and can take back.
	ServerRSS  int64 `json:"server_rss_peak_kb"`
	ServerAnon int64 `json:"server_rss_anon_kb"`
}

// HTTPBenchReport is the whole benchmark.
type HTTPBenchReport struct {
	Engine    string          `json:"engine"`
	Incidents int             `json:"incidents"`
	User      string          `json:"user"`
	Wrk       string          `json:"wrk"`
	LoadAvg   string          `json:"load_average_at_start"`
	Words     []BenchWord     `json:"words,omitempty"`
	Restart   float64         `json:"restart_to_ready_ms,omitempty"`
	FirstRun  []float64       `json:"first_start_to_ready_ms,omitempty"`
	Runs      []*HTTPBenchRun `json:"runs"`
	LoadAfter string          `json:"load_average_at_end"`
}

// BenchWord is a search word (or two) and the share of incidents that hold it.
type BenchWord struct {
	Class     string  `json:"class"` // the share aimed at, such as "1%"
	Query     string  `json:"query"`
	Incidents int     `json:"incidents"`
	Share     float64 `json:"share"`
}

func benchHTTPCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("bench http", flag.ContinueOnError)
	cfg.storeFlags(fs)
	clients := fs.String("clients", "1,8,32", "comma-separated numbers of concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "length of each wrk run")
	only := fs.String("only", "", "run only the scenarios whose names match this regular expression (search, list-query, list, view, create, intake, start)")
	wrkPath := fs.String("wrk", "wrk", "the wrk binary")
	user := fs.String("user", "analyst01", "the seeded user the requests act as: analyst01 (the coordinator's responder) or a member's, such as m0001")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	return &ffcli.Command{
		Name: "http", ShortUsage: "vigil bench http -data DIR [flags]",
		ShortHelp: "Drive a real vigil serve over HTTP with wrk, as a seeded responder (fill the store with vigil seed first).",
		LongHelp: "Picks search words held by about 0.1 %, 1 %, 5 % and 20 % of incidents, and two-word queries; " +
			"starts vigil serve on the store and runs wrk against search, lists, incident views; then creates on a copy " +
			"of the store (SQLite) or on the store itself (PostgreSQL), alert intake on a fresh store, and the time a " +
			"server takes to start. Adds an API token for the seeded analyst01; never run it on a production store.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			var ns []int
			for _, f := range strings.Split(*clients, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					return fmt.Errorf("-clients: %q is not a number of clients", f)
				}
				ns = append(ns, n)
			}
			var re *regexp.Regexp
			if *only != "" {
				var err error
				if re, err = regexp.Compile(*only); err != nil {
					return fmt.Errorf("-only: %v", err)
				}
			}
			wrk, err := exec.LookPath(*wrkPath)
			if err != nil {
				return fmt.Errorf("wrk is needed (apt-get install wrk): %v", err)
			}
			b := &httpBench{cfg: cfg, user: *user, clients: ns, duration: *duration, only: re, wrk: wrk, stderr: stderr}
			r, err := b.run(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printHTTPBench(stdout, r)
			return nil
		},
	}
}

type httpBench struct {
	cfg      Config
	user     string
	clients  []int
	duration time.Duration
	only     *regexp.Regexp
	wrk      string
	stderr   io.Writer
	tmp      string
	report   *HTTPBenchReport
}

func (b *httpBench) want(scenario string) bool { return b.only == nil || b.only.MatchString(scenario) }

func (b *httpBench) logf(format string, args ...any) { fmt.Fprintf(b.stderr, format+"\n", args...) }

func (b *httpBench) run(ctx context.Context) (*HTTPBenchReport, error) {
	if b.cfg.Database == "" && b.cfg.Data == "" {
		return nil, errors.New("-data (a seeded folder) or -database is required")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "vigil-bench-http-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)
	wrkVersion, _ := exec.Command(b.wrk, "-v").CombinedOutput()
	b.report = &HTTPBenchReport{Wrk: firstLine(string(wrkVersion)), LoadAvg: loadAvg()}
	r := b.report

	// The store, before the server holds it: words, and a token for the responder.
	var token string
	err = withStore(ctx, &b.cfg, func(s *Store) error {
		r.Engine = s.Engine()
		sys := cliContext(ctx)
		svc := s.Services()
		if r.Incidents, err = svc.Incidents.CountIncidents(sys, vigil.IncidentFilter{}); err != nil {
			return err
		}
		if r.Incidents == 0 {
			return errors.New("the store holds no incidents; fill it with vigil seed first")
		}
		if b.want("search") || b.want("list-query") {
			if r.Words, err = chooseBenchWords(sys, svc.Incidents, r.Incidents); err != nil {
				return err
			}
		}
		u, err := svc.Users.FindUserByUsername(sys, b.user)
		if err != nil {
			return fmt.Errorf("no seeded %s; run vigil seed first: %w", b.user, err)
		}
		r.User = b.user
		token, err = svc.Auth.CreateToken(sys, u.ID, &vigil.Token{Name: fmt.Sprintf("bench http %d", time.Now().Unix()),
			Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}})
		return err
	})
	if err != nil {
		return nil, err
	}
	storeArgs := b.cfg.storeArgs()
	env := os.Environ()

	srv, ready, err := startServer(ctx, exe, storeArgs, env)
	if err != nil {
		return nil, err
	}
	r.Restart = ms(ready)
	b.logf("server ready in %s on %d incidents", ready.Round(time.Millisecond), r.Incidents)
	auth := "Bearer " + token
	for _, w := range r.Words {
		q := url.QueryEscape(w.Query)
		detail := fmt.Sprintf("%q, %s of incidents (%d)", w.Query, w.Class, w.Incidents)
		if err := b.measure(ctx, srv, "search "+w.Class, detail, getScript(auth, []string{"/api/v1/search?q=" + q})); err != nil {
			return nil, errors.Join(err, srv.stop())
		}
		if err := b.measure(ctx, srv, "list-query "+w.Class, detail, getScript(auth, []string{"/api/v1/incidents?limit=50&q=" + q})); err != nil {
			return nil, errors.Join(err, srv.stop())
		}
	}
	if err := b.measure(ctx, srv, "list", "first page of 50, newest first", getScript(auth, []string{"/api/v1/incidents?limit=50"})); err != nil {
		return nil, errors.Join(err, srv.stop())
	}
	if b.want("view") {
		paths, err := visibleIncidentPaths(srv.base, auth, 200)
		if err != nil {
			return nil, errors.Join(err, srv.stop())
		}
		if err := b.measure(ctx, srv, "view", fmt.Sprintf("GET /api/v1/incidents/{id}, %d incidents in turn", len(paths)), getScript(auth, paths)); err != nil {
			return nil, errors.Join(err, srv.stop())
		}
	}
	if err := srv.stop(); err != nil {
		b.logf("server stopped: %v", err)
	}

	// Creates: on a copy of the SQLite store, so the read store stays as seeded.
	if b.want("create") {
		args := storeArgs
		if b.cfg.Database == "" {
			dst := filepath.Join(b.tmp, "create")
			if err := copyDir(b.cfg.Data, dst); err != nil {
				return nil, err
			}
			args = []string{"-data", dst}
		}
		srv, _, err := startServer(ctx, exe, args, env)
		if err != nil {
			return nil, err
		}
		err = b.measure(ctx, srv, "create", "POST /api/v1/incidents, a new title each", createScript(auth))
		if err := errors.Join(err, srv.stop()); err != nil {
			return nil, err
		}
		if b.cfg.Database == "" {
			os.RemoveAll(filepath.Join(b.tmp, "create"))
		}
	}

	// Intake on a fresh store: Alertmanager's format, one alert a request,
	// nine in ten repeating one of 1,000 firing alerts.
	if b.want("intake") {
		if err := b.intake(ctx, exe, env); err != nil {
			return nil, err
		}
	}

	// First start on an empty folder (SQLite), five times.
	if b.want("start") && b.cfg.Database == "" {
		for i := range 5 {
			dir := filepath.Join(b.tmp, fmt.Sprintf("empty-%d", i))
			srv, ready, err := startServer(ctx, exe, []string{"-data", dir}, env)
			if err != nil {
				return nil, err
			}
			r.FirstRun = append(r.FirstRun, ms(ready))
			if err := srv.stop(); err != nil {
				b.logf("server stopped: %v", err)
			}
		}
	}
	r.LoadAfter = loadAvg()
	return r, nil
}

func (b *httpBench) intake(ctx context.Context, exe string, env []string) error {
	var data, database string
	data = filepath.Join(b.tmp, "intake")
	if b.cfg.Database != "" {
		schema := fmt.Sprintf("bench_http_intake_%d", time.Now().UnixNano())
		base := b.cfg.Database
		if err := execPSQL(base, "CREATE SCHEMA "+schema); err != nil {
			return err
		}
		defer execPSQL(base, "DROP SCHEMA "+schema+" CASCADE")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		database = base + sep + "search_path=" + schema
	}
	srv, err := spawnServer(ctx, exe, data, database, env)
	if err != nil {
		return err
	}
	if err := fillOpen(ctx, srv.intakeURL(), srv.token, 1000); err != nil {
		return errors.Join(err, srv.stop())
	}
	ws := &wrkServer{base: srv.base, pid: srv.cmd.Process.Pid}
	err = b.measure(ctx, ws, "intake", "POST /api/v1/intake/alertmanager, 1 alert a request, 90 % repeats of 1,000 firing", intakeScript("Bearer "+srv.token))
	return errors.Join(err, srv.stop())
}

// measure runs the scenario's wrk script at each number of clients.
func (b *httpBench) measure(ctx context.Context, srv *wrkServer, scenario, detail, script string) error {
	name := strings.Fields(scenario)[0]
	if !b.want(name) {
		return nil
	}
	file := filepath.Join(b.tmp, "script.lua")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return err
	}
	for _, c := range b.clients {
		threads := min(c, 2) // the machine's two cores; wrk needs no more
		cpu0 := procCPU(srv.pid)
		cmd := exec.CommandContext(ctx, b.wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(c),
			"-d", b.duration.String(), "--timeout", "10s", "-s", file, srv.base)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("wrk %s: %v: %s%s", scenario, err, errOut.String(), out.String())
		}
		cpu := procCPU(srv.pid) - cpu0
		run, err := parseWrk(out.String())
		if err != nil {
			return fmt.Errorf("wrk %s: %v", scenario, err)
		}
		run.Scenario, run.Detail, run.Clients = scenario, detail, c
		if run.Requests > 0 {
			run.ServerCPU = ms(cpu) / float64(run.Requests)
		}
		run.ServerRSS = procKB(srv.pid, "VmHWM")
		run.ServerAnon = procKB(srv.pid, "RssAnon")
		b.report.Runs = append(b.report.Runs, run)
		b.logf("%-16s c=%-3d %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d", scenario, c, run.PerSecond, run.P50, run.P99, run.Errors)
	}
	return nil
}

// wrkResult is what the scripts' done function prints.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS float64 `json:"duration_us"`
	P50        float64 `json:"p50_us"`
	P99        float64 `json:"p99_us"`
	Max        float64 `json:"max_us"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"`
	Timeout    int64   `json:"timeout"`
}

func parseWrk(out string) (*HTTPBenchRun, error) {
	i := strings.Index(out, "BENCH ")
	if i < 0 {
		return nil, fmt.Errorf("no result in wrk's output: %s", out)
	}
	var w wrkResult
	if err := json.Unmarshal([]byte(firstLine(out[i+len("BENCH "):])), &w); err != nil {
		return nil, fmt.Errorf("wrk's result: %v", err)
	}
	run := &HTTPBenchRun{Requests: w.Requests, P50: w.P50 / 1000, P99: w.P99 / 1000, Max: w.Max / 1000,
		Errors: w.Connect + w.Read + w.Write + w.Status + w.Timeout}
	if w.DurationUS > 0 {
		run.PerSecond = float64(w.Requests) / (w.DurationUS / 1e6)
	}
	return run, nil
}

// luaDone prints wrk's summary as one JSON line the command reads back.
const luaDone = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`

func luaString(s string) string { return strconv.Quote(s) } // Go's quoting is valid Lua for ASCII

// getScript sends GETs to the paths in turn.
func getScript(auth string, paths []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.headers[\"Authorization\"] = %s\nwrk.headers[\"Accept\"] = \"application/json\"\n", luaString(auth))
	b.WriteString("local paths = {")
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(luaString(p))
	}
	b.WriteString("}\n")
	if len(paths) == 1 {
		fmt.Fprintf(&b, "wrk.path = paths[1]\n")
	} else {
		b.WriteString(`local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`)
	}
	b.WriteString(luaDone)
	return b.String()
}

// createScript posts a new incident at each request.
func createScript(auth string) string {
	return fmt.Sprintf(`wrk.method = "POST"
wrk.headers["Authorization"] = %s
wrk.headers["Content-Type"] = "application/json"
local n = 0
local id = tostring(math.random(1000000000))
local types = {"phishing", "malware", "ransomware", "unauthorised_access", "data_breach", "other"}
request = function()
  n = n + 1
  local body = string.format('{"title":"Benchmark incident %%s-%%d on the payroll server","type":"%%s","severity":"medium","tlp":"AMBER","summary":"Created over HTTP by the benchmark: suspicious sign-ins followed by a phishing report from finance."}',
    id, n, types[n %% #types + 1])
  return wrk.format("POST", "/api/v1/incidents", nil, body)
end
`, luaString(auth)) + luaDone
}

// intakeScript posts one Alertmanager alert a request: nine in ten repeat
// one of the 1,000 firing fingerprints fillOpen sent, one in ten is new.
func intakeScript(auth string) string {
	return fmt.Sprintf(`wrk.method = "POST"
wrk.headers["Authorization"] = %s
wrk.headers["Content-Type"] = "application/json"
local n = 0
local id = tostring(math.random(1000000000))
request = function()
  n = n + 1
  local fp
  if math.random(10) == 1 then
    fp = "new" .. id .. "-" .. n
  else
    fp = string.format("open%%06d", math.random(0, 999))
  end
  local body = '{"version":"4","groupKey":"{}:{alertname=\\"HighRequestLatency\\"}","truncatedAlerts":0,"status":"firing","receiver":"vigil",' ..
    '"groupLabels":{"alertname":"HighRequestLatency"},"commonLabels":{"alertname":"HighRequestLatency","job":"api","severity":"warning"},' ..
    '"commonAnnotations":{},"externalURL":"http://alertmanager.example:9093","alerts":[' ..
    '{"status":"firing","labels":{"alertname":"HighRequestLatency","instance":"api-' .. fp .. ':9100","job":"api","severity":"warning"},' ..
    '"annotations":{"summary":"High request latency on api-' .. fp .. '","description":"p99 latency above 500ms for 10 minutes."},' ..
    '"startsAt":"' .. os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ") .. '","endsAt":"0001-01-01T00:00:00Z",' ..
    '"generatorURL":"http://prometheus.example:9090/graph?g0.expr=latency","fingerprint":"' .. fp .. '"}]}'
  return wrk.format("POST", "/api/v1/intake/alertmanager", nil, body)
end
`, luaString(auth)) + luaDone
}

// chooseBenchWords picks, for each share of incidents aimed at, the word of
// the seeded vocabulary (and of the hosts it names) whose share is nearest,
// then two-word queries of a rare and a common word and of two common
// ones. Counts are the store's own search, as the system sees it.
func chooseBenchWords(ctx context.Context, incidents vigil.IncidentService, total int) ([]BenchWord, error) {
	type counted struct {
		word string
		n    int
	}
	var all []counted
	for _, w := range benchCandidateWords() {
		n, err := incidents.CountIncidents(ctx, vigil.IncidentFilter{Query: w})
		if err != nil {
			return nil, fmt.Errorf("count %q: %w", w, err)
		}
		if n > 0 {
			all = append(all, counted{w, n})
		}
	}
	if len(all) == 0 {
		return nil, errors.New("no candidate word is in any incident; was the store filled with vigil seed?")
	}
	var out []BenchWord
	used := map[string]bool{}
	for _, c := range []struct {
		class string
		share float64
	}{{"0.1%", 0.001}, {"1%", 0.01}, {"5%", 0.05}, {"20%", 0.20}} {
		best := -1
		for i, a := range all {
			if used[a.word] {
				continue
			}
			if best < 0 || abs(float64(a.n)/float64(total)-c.share) < abs(float64(all[best].n)/float64(total)-c.share) {
				best = i
			}
		}
		used[all[best].word] = true
		out = append(out, BenchWord{Class: c.class, Query: all[best].word, Incidents: all[best].n, Share: float64(all[best].n) / float64(total)})
	}
	for _, pair := range [][2]int{{1, 3}, {2, 3}} {
		q := out[pair[0]].Query + " " + out[pair[1]].Query
		n, err := incidents.CountIncidents(ctx, vigil.IncidentFilter{Query: q})
		if err != nil {
			return nil, err
		}
		out = append(out, BenchWord{Class: "two words (" + out[pair[0]].Class + " + " + out[pair[1]].Class + ")", Query: q,
			Incidents: n, Share: float64(n) / float64(total)})
	}
	return out, nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// benchCandidateWords are the words vigil seed writes (its vocabulary,
// title words and a spread of the host names it draws, rare to common).
func benchCandidateWords() []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		w = strings.ToLower(strings.Trim(w, ".,:;()\"'"))
		if len(w) < 4 || seen[w] {
			return
		}
		seen[w] = true
		out = append(out, w)
	}
	for _, w := range sqlstore.SeedWords() {
		add(w)
	}
	for _, p := range []string{"srv", "ws", "lap", "vpn"} {
		for _, n := range []int{0, 1, 3, 10, 30, 100, 300, 1000} {
			add(fmt.Sprintf("%s%05d", p, n))
		}
	}
	sort.Strings(out)
	return out
}

// wrkServer is a server wrk drives: its address and process.
type wrkServer struct {
	base string
	pid  int
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

func (s *wrkServer) stop() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(os.Interrupt)
	err := s.cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%v: %s", err, s.log.String())
	}
	return err
}

// startServer starts "vigil serve" and returns once /readyz answers 200,
// with the time that took.
func startServer(ctx context.Context, exe string, storeArgs, env []string) (*wrkServer, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	s := &wrkServer{base: "http://" + addr, log: new(bytes.Buffer)}
	s.cmd = exec.Command(exe, append(append([]string{"serve"}, storeArgs...), "-addr", addr, "-log-level", "warn")...)
	s.cmd.Env = append(env, "VIGIL_ADMIN_PASSWORD=load test passphrase 1")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, 0, err
	}
	s.pid = s.cmd.Process.Pid
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(2 * time.Minute)
	for {
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, time.Since(start), nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			return nil, 0, fmt.Errorf("the server did not get ready: %s", s.log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// visibleIncidentPaths lists up to n incidents the token's user may see.
func visibleIncidentPaths(base, auth string, n int) ([]string, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/incidents?limit=%d", base, n), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("list incidents: %s: %s", resp.Status, body)
	}
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	var out []string
	for _, it := range page.Items {
		out = append(out, fmt.Sprintf("/api/v1/incidents/%d", it.ID))
	}
	if len(out) == 0 {
		return nil, errors.New("the responder sees no incident")
	}
	return out, nil
}

// storeArgs are the flags that open the same store in a child process.
func (c *Config) storeArgs() []string {
	var a []string
	if c.Database != "" {
		a = append(a, "-database", c.Database)
	}
	if c.Data != "" {
		a = append(a, "-data", c.Data)
	}
	return a
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	cmd := exec.Command("cp", "-a", src+"/.", dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", src, err, out)
	}
	return nil
}

func execPSQL(url, sql string) error {
	out, err := exec.Command("psql", url, "-qc", sql).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %s: %v: %s", sql, err, out)
	}
	return nil
}

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func printHTTPBench(w io.Writer, r *HTTPBenchReport) {
	fmt.Fprintf(w, "%s, %d incidents, as %s, %s; load average %s at start, %s at end\n", r.Engine, r.Incidents, r.User, r.Wrk, r.LoadAvg, r.LoadAfter)
	for _, word := range r.Words {
		fmt.Fprintf(w, "  words %-28s %-28q %6d incidents (%.2f %%)\n", word.Class, word.Query, word.Incidents, 100*word.Share)
	}
	if r.Restart > 0 {
		fmt.Fprintf(w, "start to /readyz on this store: %.0f ms\n", r.Restart)
	}
	if len(r.FirstRun) > 0 {
		s := slices.Clone(r.FirstRun)
		slices.Sort(s)
		fmt.Fprintf(w, "first start on an empty folder to /readyz: median %.0f ms (%d runs, %.0f–%.0f)\n", s[len(s)/2], len(s), s[0], s[len(s)-1])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\treq/s\tp50 ms\tp99 ms\tmax ms\terrors\tserver CPU ms/req\tRSS peak MB\tanon MB\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.2f\t%.0f\t%.0f\t\n", run.Scenario, run.Clients, run.PerSecond, run.P50, run.P99, run.Max,
			run.Errors, run.ServerCPU, float64(run.ServerRSS)/1024, float64(run.ServerAnon)/1024)
	}
	tw.Flush()
}
