package vigil

import (
	"context"
	"math"
	"sort"
	"time"
)

// IncidentFacts are what the metrics read of one incident: its class and
// key times, and when someone first acted on it (left triage).
type IncidentFacts struct {
	ID             int64         `json:"id"`
	Reference      string        `json:"reference"`
	Type           IncidentType  `json:"type"`
	Severity       Severity      `json:"severity"`
	Category       int           `json:"category"`
	Source         Source        `json:"source"`
	TLP            TLP           `json:"tlp"`
	Exercise       bool          `json:"exercise"`
	CreatedAt      time.Time     `json:"created_at"`
	Times          IncidentTimes `json:"times"`
	AcknowledgedAt *time.Time    `json:"acknowledged_at"` // first move out of triage
}

// DutyFacts are what the metrics read of one reporting duty.
type DutyFacts struct {
	IncidentID  int64            `json:"incident_id"`
	DueAt       *time.Time       `json:"due_at"`
	Status      ObligationStatus `json:"status"`
	SubmittedAt *time.Time       `json:"submitted_at"`
	Register    bool             `json:"register"` // kept in a register, not sent
}

// The metrics, each the time between two of an incident's moments.
const (
	MetricDetect      = "time_to_detect"      // occurred -> detected
	MetricAcknowledge = "time_to_acknowledge" // detected -> first move out of triage
	MetricContain     = "time_to_contain"     // detected -> contained
	MetricRecover     = "time_to_recover"     // detected -> recovered
	MetricClose       = "time_to_close"       // detected -> closed
)

// MetricNames lists the metrics in lifecycle order.
var MetricNames = []string{MetricDetect, MetricAcknowledge, MetricContain, MetricRecover, MetricClose}

// Durations returns an incident's metrics; a metric whose two moments are
// not both known (or are out of order) is absent.
func (f *IncidentFacts) Durations() map[string]time.Duration {
	out := map[string]time.Duration{}
	start := f.Times.DetectedAt
	if start == nil {
		start = &f.CreatedAt
	}
	put := func(name string, from, to *time.Time) {
		if from != nil && to != nil && !to.Before(*from) {
			out[name] = to.Sub(*from)
		}
	}
	put(MetricDetect, f.Times.OccurredAt, f.Times.DetectedAt)
	put(MetricAcknowledge, start, f.AcknowledgedAt)
	put(MetricContain, start, f.Times.ContainedAt)
	put(MetricRecover, start, f.Times.RecoveredAt)
	put(MetricClose, start, f.Times.ClosedAt)
	return out
}

// Stat summarises one metric over a set of incidents; times in seconds.
type Stat struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

// statOf summarises durations: the median and 90th percentile by the
// nearest-rank method, so each is a value that occurred.
func statOf(ds []time.Duration) Stat {
	if len(ds) == 0 {
		return Stat{}
	}
	s := make([]float64, len(ds))
	sum := 0.0
	for i, d := range ds {
		s[i] = d.Seconds()
		sum += s[i]
	}
	sort.Float64s(s)
	rank := func(p float64) float64 { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return Stat{N: len(s), Mean: sum / float64(len(s)), Median: rank(0.5), P90: rank(0.9), Max: s[len(s)-1]}
}

// MetricGroup is the metrics of the incidents sharing one value of a
// dimension (a type, a severity, a month, …).
type MetricGroup struct {
	Key       string          `json:"key"`
	Incidents int             `json:"incidents"`
	Stats     map[string]Stat `json:"stats"`
}

// DutyStats count reporting duties by outcome.
type DutyStats struct {
	Total    int `json:"total"`
	OnTime   int `json:"on_time"`  // submitted by the due time (or with no due time)
	Late     int `json:"late"`     // submitted after it
	Overdue  int `json:"overdue"`  // pending and past due
	Pending  int `json:"pending"`  // pending, not yet due
	Waived   int `json:"waived"`   // recorded as not required
	Register int `json:"register"` // register entries (kept, not sent)
}

// Metrics are computed from the incident history itself.
type Metrics struct {
	From      time.Time                `json:"from"`
	To        time.Time                `json:"to"`
	Exercises bool                     `json:"exercises"` // exercises instead of real incidents
	Incidents int                      `json:"incidents"`
	Overall   map[string]Stat          `json:"overall"`
	By        map[string][]MetricGroup `json:"by"` // type, severity, category, source, month
	Duties    DutyStats                `json:"duties"`
	// Recurrences counts incidents linked as recurrences of another;
	// RepeatedObservables the values seen in more than one of them.
	Recurrences         int `json:"recurrences"`
	RepeatedObservables int `json:"repeated_observables"`
}

// MetricDimensions are the ways the metrics are broken down.
var MetricDimensions = []string{"type", "severity", "category", "source", "month"}

// ComputeMetrics works out the metrics of the given incidents and duties.
// The rules are here, without I/O, so that a seeded history can be
// checked against hand-computed values.
func ComputeMetrics(facts []*IncidentFacts, duties []*DutyFacts, now time.Time) *Metrics {
	m := &Metrics{Incidents: len(facts), Overall: map[string]Stat{}, By: map[string][]MetricGroup{}}
	all := map[string][]time.Duration{}
	type acc struct {
		n  int
		ds map[string][]time.Duration
	}
	groups := map[string]map[string]*acc{}
	for _, dim := range MetricDimensions {
		groups[dim] = map[string]*acc{}
	}
	for _, f := range facts {
		d := f.Durations()
		keys := map[string]string{"type": string(f.Type), "severity": string(f.Severity), "category": categoryKey(f.Category),
			"source": string(f.Source), "month": f.CreatedAt.UTC().Format("2006-01")}
		for dim, k := range keys {
			a := groups[dim][k]
			if a == nil {
				a = &acc{ds: map[string][]time.Duration{}}
				groups[dim][k] = a
			}
			a.n++
			for name, v := range d {
				a.ds[name] = append(a.ds[name], v)
			}
		}
		for name, v := range d {
			all[name] = append(all[name], v)
		}
	}
	for _, name := range MetricNames {
		m.Overall[name] = statOf(all[name])
	}
	for dim, byKey := range groups {
		out := []MetricGroup{}
		for k, a := range byKey {
			g := MetricGroup{Key: k, Incidents: a.n, Stats: map[string]Stat{}}
			for _, name := range MetricNames {
				g.Stats[name] = statOf(a.ds[name])
			}
			out = append(out, g)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		m.By[dim] = out
	}
	for _, d := range duties {
		m.Duties.Total++
		switch d.Status {
		case ObligationSubmitted:
			if d.DueAt == nil || d.SubmittedAt == nil || !d.SubmittedAt.After(*d.DueAt) {
				m.Duties.OnTime++
			} else {
				m.Duties.Late++
			}
		case ObligationNotRequired:
			m.Duties.Waived++
		case ObligationPending:
			switch {
			case d.Register:
				m.Duties.Register++
			case d.DueAt == nil:
				m.Duties.Pending++
			case now.After(*d.DueAt):
				m.Duties.Overdue++
			default:
				m.Duties.Pending++
			}
		default:
			m.Duties.Total--
		}
	}
	return m
}

func categoryKey(c int) string {
	if c == 0 {
		return "uncategorised"
	}
	return "category " + string(rune('0'+c))
}

// MetricsFilter picks the incidents the metrics are computed over.
type MetricsFilter struct {
	From, To  time.Time // incidents created in [From, To)
	Exercises bool      // exercises instead of real incidents
}

// MetricsService reads the facts the metrics are computed from, for the
// incidents the actor may see.
type MetricsService interface {
	IncidentMetrics(ctx context.Context, f MetricsFilter) (*Metrics, []*IncidentFacts, error)
}
