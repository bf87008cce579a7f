package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// IntakeLoad describes a load run against a running server's Alertmanager
// intake.
type IntakeLoad struct {
	URL        string        // the intake URL, …/api/v1/intake/alertmanager
	Token      string        // the integration token
	Clients    int           // concurrent clients, each one request at a time
	Duration   time.Duration // how long to send
	PerRequest int           // alerts per request
	DupRatio   float64       // share of alerts that repeat one of Open firing fingerprints
	Open       int           // firing fingerprints the repeats are drawn from
	// OnAck, if set, receives the fingerprints of every request answered
	// 2xx (for the kill test, which checks each of them is stored).
	OnAck func(fingerprints []string)
}

// IntakeResult is what a load run measured, from the client's side.
type IntakeResult struct {
	Clients      int            `json:"clients"`
	PerRequest   int            `json:"alerts_per_request"`
	Seconds      float64        `json:"seconds"`
	Requests     int            `json:"requests"`
	Accepted     int            `json:"accepted_alerts"`
	AlertsPerSec float64        `json:"accepted_alerts_per_second"`
	P50          time.Duration  `json:"p50_ns"`
	P99          time.Duration  `json:"p99_ns"`
	Max          time.Duration  `json:"max_ns"`
	Statuses     map[string]int `json:"statuses"` // answers by status code, and "error" for transport errors
	ServerRSSKB  int64          `json:"server_peak_rss_kb"`
	// CPU time per request, user and system, of the server (when its
	// process is known) and of the load tool itself.
	ServerCPU time.Duration `json:"server_cpu_per_request_ns,omitempty"`
	LoadCPU   time.Duration `json:"load_cpu_per_request_ns,omitempty"`
	Engine    string        `json:"engine,omitempty"`
}

// alertmanagerPayload renders a version 4 webhook body as Alertmanager
// sends it, with one alert per fingerprint.
func alertmanagerPayload(b *bytes.Buffer, fps []string, now time.Time) {
	b.WriteString(`{"version":"4","groupKey":"{}:{alertname=\"HighRequestLatency\"}","truncatedAlerts":0,"status":"firing","receiver":"vigil",` +
		`"groupLabels":{"alertname":"HighRequestLatency"},"commonLabels":{"alertname":"HighRequestLatency","job":"api","severity":"warning"},` +
		`"commonAnnotations":{},"externalURL":"http://alertmanager.example:9093","alerts":[`)
	// Written piece by piece, not with fmt: the load tool shares the
	// server's two cores, and every microsecond it spends is the server's.
	ts := strconv.Quote(now.UTC().Format(time.RFC3339Nano))
	for i, fp := range fps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"status":"firing","labels":{"alertname":"HighRequestLatency","instance":"api-`)
		b.WriteString(fp)
		b.WriteString(`:9100","job":"api","severity":"warning"},"annotations":{"summary":"High request latency on api-`)
		b.WriteString(fp)
		b.WriteString(`","description":"p99 latency above 500ms for 10 minutes."},"startsAt":`)
		b.WriteString(ts)
		b.WriteString(`,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph?g0.expr=latency","fingerprint":`)
		b.Write(strconv.AppendQuote(b.AvailableBuffer(), fp))
		b.WriteString(`}`)
	}
	b.WriteString(`]}`)
}

// openFingerprint names the i-th open alert of a load run.
func openFingerprint(i int) string {
	s := strconv.Itoa(i)
	return "open" + strings.Repeat("0", max(0, 6-len(s))) + s
}

// RunIntakeLoad sends alerts until the duration is over or ctx ends.
func RunIntakeLoad(ctx context.Context, l IntakeLoad) *IntakeResult {
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	var (
		mu       sync.Mutex
		lat      []time.Duration
		statuses = map[string]int{}
		accepted int
		seq      atomic.Int64
	)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range l.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			conn, err := newLoadConn(l.URL)
			if err != nil {
				mu.Lock()
				statuses["error"]++
				mu.Unlock()
				return
			}
			defer conn.close()
			headers := "Authorization: Bearer " + l.Token + "\r\nContent-Type: application/json\r\n"
			var b bytes.Buffer
			myLat := make([]time.Duration, 0, 1<<16)
			myStatus := map[string]int{}
			myAccepted := 0
			fps := make([]string, l.PerRequest)
			for ctx.Err() == nil {
				for i := range fps {
					if l.Open > 0 && rng.Float64() < l.DupRatio {
						fps[i] = openFingerprint(rng.IntN(l.Open))
					} else {
						fps[i] = "new" + strconv.Itoa(w) + "-" + strconv.FormatInt(seq.Add(1), 10)
					}
				}
				b.Reset()
				alertmanagerPayload(&b, fps, time.Now())
				t0 := time.Now()
				ans, err := conn.post(ctx, headers, b.Bytes())
				if err != nil {
					if ctx.Err() == nil {
						myStatus["error"]++
						time.Sleep(10 * time.Millisecond) // a dead server: do not spin
					}
					continue
				}
				myLat = append(myLat, time.Since(t0))
				myStatus[strconv.Itoa(ans.status)]++
				if ans.status/100 == 2 {
					myAccepted += len(fps)
					if l.OnAck != nil {
						l.OnAck(slices.Clone(fps))
					}
				} else if ans.retryAfter {
					time.Sleep(50 * time.Millisecond)
				}
			}
			mu.Lock()
			lat = append(lat, myLat...)
			for k, v := range myStatus {
				statuses[k] += v
			}
			accepted += myAccepted
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := &IntakeResult{Clients: l.Clients, PerRequest: l.PerRequest, Seconds: elapsed.Seconds(), Requests: len(lat), Accepted: accepted,
		AlertsPerSec: float64(accepted) / elapsed.Seconds(), Statuses: statuses}
	if len(lat) > 0 {
		s := summarize("", l.Clients, lat, elapsed, "")
		r.P50, r.P99, r.Max = s.P50, s.P99, s.Max
	}
	return r
}

// procKB reads a memory figure (VmHWM for peak RSS) of process pid.
func procKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// procCPU reads the CPU time, user and system, process pid has used so
// far; 0 if it cannot (no pid, or no /proc).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, in clock ticks of 1/100 s
	// (USER_HZ, which Linux fixes at 100 for user space).
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// selfCPU is the CPU time, user and system, this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spawnedServer is a "vigil serve" child process for a benchmark.
type spawnedServer struct {
	cmd   *exec.Cmd
	base  string
	token string
	log   bytes.Buffer
}

// spawnServer creates an Alertmanager integration in a fresh store and
// starts "vigil serve" on it. database empty means SQLite in data.
func spawnServer(ctx context.Context, exe, data, database string, env []string, serveArgs ...string) (*spawnedServer, error) {
	storeArgs := []string{"-data", data}
	if database != "" {
		storeArgs = []string{"-database", database}
		if data != "" {
			// Instances on one database share the data folder's evidence.
			storeArgs = append(storeArgs, "-data", data)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &spawnedServer{base: "http://" + addr}
	create := exec.CommandContext(ctx, exe, append(append([]string{"integration", "create"}, storeArgs...),
		"-kind", "alertmanager", "-name", fmt.Sprintf("bench-%d", time.Now().UnixNano()), "-url", s.base)...)
	create.Env = env
	var out, errOut bytes.Buffer
	create.Stdout, create.Stderr = &out, &errOut
	if err := create.Run(); err != nil {
		return nil, fmt.Errorf("integration create: %v: %s", err, errOut.String())
	}
	m := regexp.MustCompile(`(?m)^token: (\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		return nil, fmt.Errorf("integration create printed no token: %s", out.String())
	}
	s.token = m[1]
	s.cmd = exec.Command(exe, append(append(append([]string{"serve"}, storeArgs...), "-addr", addr, "-log-level", "warn"), serveArgs...)...)
	s.cmd.Env = append(env, "VIGIL_ADMIN_PASSWORD=load test passphrase 1")
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			return nil, fmt.Errorf("the server did not get ready: %s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *spawnedServer) intakeURL() string { return s.base + "/api/v1/intake/alertmanager" }

// stop ends the server gracefully.
func (s *spawnedServer) stop() error {
	s.cmd.Process.Signal(os.Interrupt)
	return s.cmd.Wait()
}

func benchIntakeCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("bench intake", flag.ContinueOnError)
	url := fs.String("url", "", "intake URL of a running server (…/api/v1/intake/alertmanager); empty starts a server of its own")
	token := fs.String("token", "", "integration token, with -url")
	pid := fs.Int("pid", 0, "the running server's process ID, with -url, to read its peak RSS")
	data := fs.String("data", "", "data folder for the server it starts (default: a temporary folder)")
	database := fs.String("database", "", "PostgreSQL URL for the server it starts (default: SQLite)")
	clients := fs.Int("clients", 32, "concurrent clients")
	duration := fs.Duration("duration", 60*time.Second, "how long to send")
	batches := fs.String("batch", "1", "alerts per request; comma-separated to run several, such as 1,100")
	dup := fs.Float64("dup", 0.9, "share of alerts that repeat an open alert")
	open := fs.Int("open", 1000, "open (firing) fingerprints the repeats are drawn from")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	serverProfile := fs.String("server-cpuprofile", "", "have the server it starts write a CPU profile to this file")
	clientProfile := fs.String("cpuprofile", "", "write a CPU profile of the load tool itself to this file")
	return &ffcli.Command{
		Name: "intake", ShortUsage: "vigil bench intake [flags]",
		ShortHelp: "Post Alertmanager payloads to a server and measure accepted alerts/s, latency and the server's peak RSS.",
		LongHelp: "Without -url it creates an integration in a fresh store, starts \"vigil serve\" as a child process, fills the open " +
			"fingerprints, then runs the load for each -batch size. Latency is per request, measured by the client.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			var srv *spawnedServer
			if *url == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				dir := *data
				if dir == "" && *database == "" {
					tmp, err := os.MkdirTemp("", "vigil-bench-intake-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					dir = filepath.Join(tmp, "data")
				}
				var extra []string
				if *serverProfile != "" {
					extra = []string{"-cpuprofile", *serverProfile}
				}
				if srv, err = spawnServer(ctx, exe, dir, *database, os.Environ(), extra...); err != nil {
					return err
				}
				defer srv.stop()
				*url, *token, *pid = srv.intakeURL(), srv.token, srv.cmd.Process.Pid
			}
			stopProfile, err := startCPUProfile(*clientProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			engine := "sqlite"
			if *database != "" {
				engine = "postgres"
			}
			// Fill the open fingerprints first, so repeats are repeats.
			if *open > 0 {
				if err := fillOpen(ctx, *url, *token, *open); err != nil {
					return err
				}
			}
			var results []*IntakeResult
			for _, bs := range splitList(*batches) {
				n, err := strconv.Atoi(bs)
				if err != nil || n < 1 || n > 1000 {
					return fmt.Errorf("-batch: %q is not a number of alerts from 1 to 1000", bs)
				}
				serverCPU, loadCPU := procCPU(*pid), selfCPU()
				r := RunIntakeLoad(ctx, IntakeLoad{URL: *url, Token: *token, Clients: *clients, Duration: *duration, PerRequest: n, DupRatio: *dup, Open: *open})
				r.Engine = engine
				if r.Requests > 0 {
					r.LoadCPU = (selfCPU() - loadCPU) / time.Duration(r.Requests)
				}
				if *pid != 0 {
					r.ServerRSSKB = procKB(*pid, "VmHWM")
					if r.Requests > 0 {
						r.ServerCPU = (procCPU(*pid) - serverCPU) / time.Duration(r.Requests)
					}
				}
				results = append(results, r)
				if ctx.Err() != nil {
					break
				}
			}
			if *asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(results)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "engine\tclients\talerts/request\tseconds\trequests\taccepted alerts/s\tp50\tp99\tmax\tserver peak RSS\tCPU/request server+load\tanswers\t")
			ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
			for _, r := range results {
				var ans []string
				for k, v := range r.Statuses {
					ans = append(ans, fmt.Sprintf("%s×%d", k, v))
				}
				slices.Sort(ans)
				us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%d\t%.0f\t%s\t%s\t%s\t%d MB\t%s+%s µs\t%s\t\n", r.Engine, r.Clients, r.PerRequest, r.Seconds, r.Requests,
					r.AlertsPerSec, ms(r.P50), ms(r.P99), ms(r.Max), r.ServerRSSKB/1024, us(r.ServerCPU), us(r.LoadCPU), strings.Join(ans, " "))
			}
			return tw.Flush()
		},
	}
}

// fillOpen posts the open fingerprints once, 100 per request.
func fillOpen(ctx context.Context, url, token string, n int) error {
	var b bytes.Buffer
	for i := 0; i < n; i += 100 {
		var fps []string
		for j := i; j < min(n, i+100); j++ {
			fps = append(fps, openFingerprint(j))
		}
		b.Reset()
		alertmanagerPayload(&b, fps, time.Now())
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b.Bytes()))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New("filling the open alerts: " + resp.Status + ": " + string(body))
		}
	}
	return nil
}
