package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vigil-ir/vigil"
)

// Metrics holds Vigil's Prometheus metrics on a registry of its own, so
// tests can make as many servers as they like.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	store    *prometheus.HistogramVec

	intakeRequests *prometheus.CounterVec
	intakeAlerts   *prometheus.CounterVec
	jobs           *prometheus.CounterVec
	storageFull    *prometheus.GaugeVec
	storageEpisode *prometheus.CounterVec
}

// NewMetrics registers Vigil's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_store_operation_duration_seconds", Help: "Store operation latency by operation and result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"op", "result"}),
	}
	m.intakeRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_intake_requests_total", Help: "Intake requests by integration and result (ok, or why refused).",
	}, []string{"integration", "result"})
	m.intakeAlerts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_intake_alerts_total", Help: "Alerts taken in by integration and outcome (created, repeated, refired, resolved).",
	}, []string{"integration", "outcome"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_jobs_total", Help: "Background jobs run, by kind (event, deliver) and result (ok, retry, failed, lease_lost).",
	}, []string{"kind", "result"})
	m.storageFull = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "vigil_storage_full", Help: "1 while writes to a volume (database, evidence) fail because its disk is full; alert on it.",
	}, []string{"volume"})
	m.storageEpisode = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_storage_full_episodes_total", Help: "Times a volume's disk was found full.",
	}, []string{"volume"})
	for _, v := range []string{"database", "evidence"} {
		m.storageFull.WithLabelValues(v) // present at 0 before any episode
	}
	m.Registry.MustRegister(m.requests, m.latency, m.store, m.intakeRequests, m.intakeAlerts, m.jobs, m.storageFull, m.storageEpisode,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_build_info", Help: "Always 1; the version label says which build.",
			ConstLabels: prometheus.Labels{"version": vigil.Version}}, func() float64 { return 1 }))
	return m
}

// ObserveStorage records that a volume's disk filled up (full) or takes
// writes again; pass it, with a log line, as sqlstore.DB.OnStorage.
func (m *Metrics) ObserveStorage(volume string, full bool) {
	if full {
		m.storageFull.WithLabelValues(volume).Set(1)
		m.storageEpisode.WithLabelValues(volume).Inc()
		return
	}
	m.storageFull.WithLabelValues(volume).Set(0)
}

// ObserveJob counts a background job's result.
func (m *Metrics) ObserveJob(kind, result string) { m.jobs.WithLabelValues(kind, result).Inc() }

func (m *Metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// observeIngest counts an accepted intake request and its alerts.
func (m *Metrics) observeIngest(integration string, res *vigil.IngestResult) {
	m.intakeRequests.WithLabelValues(integration, "ok").Inc()
	for _, o := range [...]struct {
		outcome string
		n       int
	}{{"created", res.Created}, {"repeated", res.Repeated}, {"refired", res.Refired}, {"resolved", res.Resolved}} {
		if o.n > 0 {
			m.intakeAlerts.WithLabelValues(integration, o.outcome).Add(float64(o.n))
		}
	}
}

// ObserveStore records a store operation; pass it as sqlstore.DB.Observe.
func (m *Metrics) ObserveStore(op string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = vigil.ErrorCode(err)
	}
	m.store.WithLabelValues(op, result).Observe(d.Seconds())
}

// handleMetrics serves the Prometheus text format to admins (a scraper
// uses an admin's read-scoped API token): metrics reveal activity.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if err := vigil.Require(vigil.ActorFromContext(r.Context()), vigil.PermMetricsRead); err != nil {
		return err
	}
	if s.Metrics == nil {
		return vigil.Errorf(vigil.ENOTFOUND, "Metrics are off.")
	}
	promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// handleHealthz answers 200 while the process serves: for liveness probes.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// handleReadyz answers 200 only when the store answers within a second
// and no disk it writes to is full: for load balancers, which should send
// traffic elsewhere until then.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.Logger.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			if vigil.ErrorCode(err) == vigil.ESTORAGEFULL {
				w.Write([]byte("disk full: " + vigil.ErrorMessage(err) + "\n"))
				return
			}
			w.Write([]byte("store unavailable\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}
