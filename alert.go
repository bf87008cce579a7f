package vigil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// IntegrationKind is the payload format a monitoring tool posts in.
type IntegrationKind string

// The integration kinds. Each has a parser in package intake.
const (
	IntegrationAlertmanager IntegrationKind = "alertmanager" // Prometheus Alertmanager webhook, version 4
	IntegrationGrafana      IntegrationKind = "grafana"      // Grafana alerting webhook contact point
	IntegrationSplunk       IntegrationKind = "splunk"       // Splunk webhook alert action
	IntegrationWazuh        IntegrationKind = "wazuh"        // Wazuh alert JSON (integratord)
	IntegrationElastic      IntegrationKind = "elastic"      // Kibana webhook connector, through a field mapping
	IntegrationGeneric      IntegrationKind = "generic"      // any JSON, through a field mapping
	IntegrationTheHive      IntegrationKind = "thehive"      // TheHive alert API (POST /api/alert, /api/v1/alert)
	IntegrationEmail        IntegrationKind = "email"        // reported e-mail: a raw message (message/rfc822), docs/email-intake.md
)

// IntegrationKinds lists every kind.
var IntegrationKinds = []IntegrationKind{
	IntegrationAlertmanager, IntegrationGrafana, IntegrationSplunk, IntegrationWazuh,
	IntegrationElastic, IntegrationGeneric, IntegrationTheHive, IntegrationEmail,
}

// Valid reports whether k is a known kind.
func (k IntegrationKind) Valid() bool { return inEnum(k, IntegrationKinds) }

// NeedsMapping reports whether the kind has no fixed format, so that an
// integration of it needs a field mapping to find at least a title.
func (k IntegrationKind) NeedsMapping() bool {
	return k == IntegrationElastic || k == IntegrationGeneric
}

// IntegrationTokenPrefix starts every integration token, so that a leaked
// one is recognisable (and told apart from a user's API token).
const IntegrationTokenPrefix = "vgi_"

// Integration is a monitoring tool allowed to post alerts: its format, the
// defaults its alerts take, how they are deduplicated, grouped and
// promoted. Its token is shown once, at creation or rotation; the store
// keeps a hash.
type Integration struct {
	ID              int64           `json:"id"`
	Name            string          `json:"name"`
	Kind            IntegrationKind `json:"kind"`
	DefaultSeverity Severity        `json:"default_severity"`
	DefaultType     IncidentType    `json:"default_type"`
	DefaultTLP      TLP             `json:"default_tlp"`
	Mapping         FieldMapping    `json:"mapping"`
	// DedupKeys name what makes two alerts the same when the tool gives no
	// fingerprint of its own: label names (after parsing, every format's
	// fields are labels) or "title". Empty means title plus all labels.
	DedupKeys []string      `json:"dedup_keys"`
	Grouping  GroupingRule  `json:"grouping"`
	Promotion PromotionRule `json:"promotion"`
	Disabled  bool          `json:"disabled"`
	// TokenHint is the token's first characters, to tell tokens apart.
	TokenHint string    `json:"token_hint"`
	CreatedBy *int64    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

// FieldMapping says where in a JSON payload an alert's fields are, for the
// formats without a fixed shape (generic JSON, Kibana's webhook connector),
// and may override the fixed formats' choices. Paths are dotted
// ("rule.name", "host.ip", "alerts.0.id"); a path that starts at an array
// ("alerts[]") makes each element one alert, with the other paths relative
// to it.
type FieldMapping struct {
	Alerts      string `json:"alerts,omitempty"` // path of the array of alerts; empty: the payload is one alert
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Severity    string `json:"severity,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Time        string `json:"time,omitempty"`
	Status      string `json:"status,omitempty"` // values "resolved", "ok", "closed", "recovered" mean resolved
	URL         string `json:"url,omitempty"`
	// Observables maps a path to the observable type of its value(s);
	// type "" detects each value's type.
	Observables map[string]ObservableType `json:"observables,omitempty"`
	// Severities maps the tool's severity words or numbers (lower-cased)
	// to Vigil's; unmapped values go through ParseAlertSeverity.
	Severities map[string]Severity `json:"severities,omitempty"`
}

// GroupingRule puts related alerts into one alert group. An alert joins the
// open group with the same key whose last alert is within Window; the key
// is made of the values of By, each one of "fingerprint", "title",
// "label:NAME" or "observable:TYPE" (for example "observable:hostname" for
// "everything on one host"). With no values of By present, an alert is a
// group of its own fingerprint. Across makes groups span integrations
// (correlate a host seen by the EDR with the same host in the SIEM).
//
// Match "any" makes each value of each of By a key of its own: an alert
// joins the open group that shares any one of them (an e-mail campaign:
// the same sender domain, or link, or attachment, or subject), and the
// group takes all of the alert's keys. The default, "all", joins the
// values of By into one key.
type GroupingRule struct {
	By     []string `json:"by"`
	Window Duration `json:"window"`
	Across bool     `json:"across_integrations"`
	Match  string   `json:"match,omitempty"`
}

// MaxGroupKeys bounds the keys one alert gives a group under Match "any".
const MaxGroupKeys = 200

// PromotionRule promotes a group to an incident (in triage) on its own:
// when an alert of at least MinSeverity joins it, or when it holds Count
// alerts. Zero values switch a condition off; with both off, groups wait
// for a human.
type PromotionRule struct {
	MinSeverity Severity `json:"min_severity,omitempty"`
	Count       int      `json:"count"`
}

// Duration is a time.Duration that reads and writes JSON as "10m0s" (and
// reads plain seconds).
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// String writes the duration the way Go does: 1h30m0s.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalJSON reads a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*d = Duration(time.Duration(n * float64(time.Second)))
	return nil
}

// Default grouping window and limits.
const (
	DefaultGroupWindow   = 10 * time.Minute
	MaxGroupWindow       = 7 * 24 * time.Hour
	MaxIntegrationName   = 100
	MaxAlertTitle        = 500
	MaxAlertDescription  = 20000
	MaxAlertLabels       = 200
	MaxAlertLabelLen     = 2000
	MaxAlertObservables  = 100
	MaxAlertsPerRequest  = 1000
	MaxAlertRaw          = 64 << 10 // a single alert's raw JSON kept with it
	MaxDismissReasonLen  = 2000
	MaxIntegrationPaths  = 50
	fingerprintHexLength = 32
)

// Normalize fills defaults.
func (in *Integration) Normalize() {
	in.Name = strings.TrimSpace(in.Name)
	in.Kind = IntegrationKind(strings.ToLower(strings.TrimSpace(string(in.Kind))))
	if in.DefaultSeverity == "" {
		in.DefaultSeverity = SeverityMedium
	}
	if in.DefaultType == "" {
		in.DefaultType = TypeOther
	}
	if in.DefaultTLP == "" {
		in.DefaultTLP = TLPAmber
	} else if t, ok := ParseTLP(string(in.DefaultTLP)); ok {
		in.DefaultTLP = t
	}
	if in.Grouping.Window == 0 {
		in.Grouping.Window = Duration(DefaultGroupWindow)
	}
	if in.DedupKeys == nil {
		in.DedupKeys = []string{}
	}
	if in.Grouping.By == nil {
		in.Grouping.By = []string{}
		if in.Kind == IntegrationEmail {
			// A campaign: the same sender domain, link, attachment or
			// subject within a day.
			in.Grouping = GroupingRule{By: []string{"label:email.sender_domain", "label:email.subject_key", "observable:url", "observable:sha256"},
				Match: "any", Window: Duration(24 * time.Hour)}
		}
	}
}

// Validate checks the integration, with field-level problems.
func (in *Integration) Validate() error {
	var p Problems
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		p.Add("name", "Give the integration a name.")
	case n > MaxIntegrationName || !utf8.ValidString(in.Name) || hasControlChar(in.Name):
		p.Add("name", "The name must be plain text of at most %d characters.", MaxIntegrationName)
	}
	if !in.Kind.Valid() {
		p.Add("kind", "Unknown kind %q; one of %s.", in.Kind, joinEnum(IntegrationKinds))
	}
	if !inEnum(in.DefaultSeverity, Severities) {
		p.Add("default_severity", "Unknown severity %q.", in.DefaultSeverity)
	}
	if !inEnum(in.DefaultType, IncidentTypes) {
		p.Add("default_type", "Unknown incident type %q.", in.DefaultType)
	}
	if !in.DefaultTLP.Valid() {
		p.Add("default_tlp", "Unknown TLP label %q.", in.DefaultTLP)
	}
	if in.Kind.NeedsMapping() && in.Mapping.Title == "" {
		p.Add("mapping.title", "A %s integration needs the path of the alert's title.", in.Kind)
	}
	paths := []string{in.Mapping.Alerts, in.Mapping.Title, in.Mapping.Description, in.Mapping.Severity,
		in.Mapping.Fingerprint, in.Mapping.Time, in.Mapping.Status, in.Mapping.URL}
	for path, t := range in.Mapping.Observables {
		paths = append(paths, path)
		if t != "" && t != ObsHash && !inEnum(t, ObservableTypes) {
			p.Add("mapping.observables", "Unknown observable type %q for %q.", t, path)
		}
	}
	if len(paths) > MaxIntegrationPaths {
		p.Add("mapping", "At most %d paths.", MaxIntegrationPaths)
	}
	for _, path := range paths {
		if len(path) > 200 || hasControlChar(path) {
			p.Add("mapping", "Paths must be at most 200 characters of plain text.")
			break
		}
	}
	for k, s := range in.Mapping.Severities {
		if !inEnum(s, Severities) {
			p.Add("mapping.severities", "Unknown severity %q for %q.", s, k)
		}
	}
	if len(in.DedupKeys) > 20 {
		p.Add("dedup_keys", "At most 20 keys.")
	}
	for _, by := range in.Grouping.By {
		if !validGroupKey(by) {
			p.Add("grouping.by", "Unknown grouping key %q: use fingerprint, title, label:NAME or observable:TYPE.", by)
		}
	}
	if m := in.Grouping.Match; m != "" && m != "all" && m != "any" {
		p.Add("grouping.match", "Match must be all (one key of every value) or any (a group shares any one value).")
	}
	if w := time.Duration(in.Grouping.Window); w < time.Second || w > MaxGroupWindow {
		p.Add("grouping.window", "The window must be between 1s and %s.", MaxGroupWindow)
	}
	if s := in.Promotion.MinSeverity; s != "" && !inEnum(s, Severities) {
		p.Add("promotion.min_severity", "Unknown severity %q.", s)
	}
	if in.Promotion.Count < 0 || in.Promotion.Count > 100000 {
		p.Add("promotion.count", "The count must be between 0 (off) and 100000.")
	}
	return p.Err()
}

func validGroupKey(k string) bool {
	switch {
	case k == "fingerprint" || k == "title":
		return true
	case strings.HasPrefix(k, "label:"):
		return len(k) > len("label:")
	case strings.HasPrefix(k, "observable:"):
		t := ObservableType(strings.TrimPrefix(k, "observable:"))
		return inEnum(t, ObservableTypes)
	}
	return false
}

func joinEnum[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// IntegrationUpdate changes an integration; nil fields stay.
type IntegrationUpdate struct {
	Name            *string        `json:"name,omitempty"`
	DefaultSeverity *Severity      `json:"default_severity,omitempty"`
	DefaultType     *IncidentType  `json:"default_type,omitempty"`
	DefaultTLP      *TLP           `json:"default_tlp,omitempty"`
	Mapping         *FieldMapping  `json:"mapping,omitempty"`
	DedupKeys       *[]string      `json:"dedup_keys,omitempty"`
	Grouping        *GroupingRule  `json:"grouping,omitempty"`
	Promotion       *PromotionRule `json:"promotion,omitempty"`
	Disabled        *bool          `json:"disabled,omitempty"`
	Version         int            `json:"version"`
}

// Apply changes in by u and validates the result.
func (in *Integration) Apply(u IntegrationUpdate) error {
	if u.Name != nil {
		in.Name = *u.Name
	}
	if u.DefaultSeverity != nil {
		in.DefaultSeverity = *u.DefaultSeverity
	}
	if u.DefaultType != nil {
		in.DefaultType = *u.DefaultType
	}
	if u.DefaultTLP != nil {
		in.DefaultTLP = *u.DefaultTLP
	}
	if u.Mapping != nil {
		in.Mapping = *u.Mapping
	}
	if u.DedupKeys != nil {
		in.DedupKeys = *u.DedupKeys
	}
	if u.Grouping != nil {
		in.Grouping = *u.Grouping
	}
	if u.Promotion != nil {
		in.Promotion = *u.Promotion
	}
	if u.Disabled != nil {
		in.Disabled = *u.Disabled
	}
	in.Normalize()
	return in.Validate()
}

// AlertStatus is what the tool says of an alert: still firing, or resolved.
type AlertStatus string

// The alert statuses.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// AlertInput is one alert as a parser read it from a tool's payload, before
// defaults, deduplication and storage.
type AlertInput struct {
	Fingerprint string            // the tool's own, or "" to compute from the dedup keys
	Status      AlertStatus       // firing unless the tool says resolved
	Title       string            //
	Description string            //
	Severity    Severity          // "" takes the integration's default
	TLP         TLP               // "" takes the integration's default
	SourceRef   string            // the tool's ID for the alert or its search run
	URL         string            // a link back to the tool
	At          time.Time         // when the tool says it started; zero means now
	EndedAt     time.Time         // when a resolved alert ended; zero means now
	Labels      map[string]string // the alert's fields, flattened
	Observables []ObservableInput // found by the parser (typed fields) and in the text
	Raw         json.RawMessage   // the alert's own JSON, kept with it
	// Warnings say what the parser could not read and what it did instead
	// (a start time it could not read: the time received). The alert is
	// taken in; the warnings are kept with it (Alert.Warnings).
	Warnings []FieldError
	// Files are kept as evidence of the alert, with their chain of custody,
	// when the alert is new (a reported message and its attachments):
	// their content is already in the blob store, under Digests.SHA256.
	Files []*AlertFile
	// ObservablesOnly: the parser found every observable (an e-mail's are
	// read from its structure), so the text is not scanned for more; it
	// would find the reporter's and the mailbox's own addresses.
	ObservablesOnly bool
	// Later, if set, is work the parser leaves until the alert turns out
	// to be new or firing again (PrepareObservables runs it): finding
	// observables in its fields, keeping its raw JSON. A repeat skips it.
	Later func(*AlertInput)

	observablesDone bool
}

// Prepare applies the integration's defaults, bounds every field, extracts
// observables from the text and computes the fingerprint when the tool gave
// none. After Prepare the alert can be stored as it is.
func (a *AlertInput) Prepare(in *Integration) {
	if a.Status != AlertResolved {
		a.Status = AlertFiring
	}
	a.Title = clipText(strings.TrimSpace(a.Title), MaxAlertTitle)
	if a.Title == "" {
		a.Title = "Alert from " + in.Name
	}
	a.Description = clipText(a.Description, MaxAlertDescription)
	a.Fingerprint = clipText(a.Fingerprint, 200)
	if a.Severity == "" {
		a.Severity = in.DefaultSeverity
	}
	if a.TLP == "" {
		a.TLP = in.DefaultTLP
	}
	a.SourceRef = clipText(a.SourceRef, 500)
	a.URL = clipText(a.URL, 2000)
	if len(a.Labels) > MaxAlertLabels {
		keys := sortedKeys(a.Labels)
		for _, k := range keys[MaxAlertLabels:] {
			delete(a.Labels, k)
		}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	for k, v := range a.Labels {
		if ck, cv := clipText(k, 200), clipText(v, MaxAlertLabelLen); ck != k || cv != v {
			delete(a.Labels, k)
			if ck != "" {
				a.Labels[ck] = cv
			}
		}
	}
	if len(a.Raw) > MaxAlertRaw {
		a.Raw = nil
	}
	if a.Fingerprint == "" {
		a.Fingerprint = ComputeFingerprint(in.Kind, a.Title, a.Labels, in.DedupKeys)
	}
}

// PrepareObservables normalises the observables the parser found, adds
// those in the alert's text, and drops repeats. It is apart from Prepare
// because it is the costly part (a scan of all the text) and a repeat of a
// firing alert, the common case in a storm, does not need it: stores call
// it only for new alerts and re-fires. Calling it again does nothing.
//
// A value is kept once, under the first type it was found as: the
// parser's, from the fields that say what they hold, before the text's.
// So a host named in a host field and again in the text (Prometheus's
// instance label "api-7.example.com:9100" is both) is a hostname, not a
// hostname and a domain-name; a domain seen only in the text is a
// domain-name. The text is the title, the description and the values of
// the fields, less identifier fields (IdentifierField): an alert's own IDs
// are not what it is about.
func (a *AlertInput) PrepareObservables() {
	if !a.observablesDone {
		if a.Later != nil {
			a.Later(a)
		}
		if len(a.Raw) > MaxAlertRaw {
			a.Raw = nil
		}
		a.Observables = a.prepareObservables()
		a.observablesDone = true
	}
}

func (a *AlertInput) prepareObservables() []ObservableInput {
	out := make([]ObservableInput, 0, len(a.Observables))
	seen := make(map[string]bool, len(a.Observables))
	add := func(o ObservableInput) {
		if len(out) >= MaxAlertObservables {
			return
		}
		t, v, err := NormalizeObservable(o.Type, clipText(o.Value, MaxAlertLabelLen))
		if err != nil || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, ObservableInput{Type: t, Value: v})
	}
	for _, o := range a.Observables {
		add(o)
	}
	if a.ObservablesOnly {
		return out
	}
	keys := sortedKeys(a.Labels)
	n := len(a.Title) + 1 + len(a.Description)
	for _, k := range keys {
		n += 1 + len(a.Labels[k])
	}
	var text strings.Builder
	text.Grow(n)
	text.WriteString(a.Title)
	text.WriteByte('\n')
	text.WriteString(a.Description)
	for _, k := range keys {
		if !IdentifierField(k) {
			text.WriteByte('\n')
			text.WriteString(a.Labels[k])
		}
	}
	for _, o := range ExtractObservables(text.String()) {
		add(o)
	}
	return out
}

// AlertFile is a file that comes with an alert, to keep as its evidence:
// what is recorded of it (name, media type, who collected it, from where,
// how) and its bytes, which the store puts in the blob store and digests.
type AlertFile struct {
	Evidence Evidence
	Content  []byte
}

// ComputeFingerprint names an alert for deduplication when its tool does
// not: a hash of the kind and the dedup keys' values (title and all labels
// when keys is empty).
func ComputeFingerprint(kind IntegrationKind, title string, labels map[string]string, keys []string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	if len(keys) == 0 {
		h.Write([]byte("\x00title\x00" + title))
		for _, k := range sortedKeys(labels) {
			h.Write([]byte("\x00" + k + "\x00" + labels[k]))
		}
	} else {
		for _, k := range keys {
			v := labels[k]
			if k == "title" {
				v = title
			}
			h.Write([]byte("\x00" + k + "\x00" + v))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:fingerprintHexLength]
}

// GroupKey returns the key that groups a by rule r, and whether a has the
// values it needs (an alert without them stands alone).
func (r GroupingRule) GroupKey(integrationID int64, a *AlertInput) string {
	var b strings.Builder
	if !r.Across {
		b.WriteString("i" + itoa(integrationID))
	}
	found := false
	for _, by := range r.By {
		var vals []string
		switch {
		case by == "fingerprint":
			vals = []string{a.Fingerprint}
		case by == "title":
			vals = []string{a.Title}
		case strings.HasPrefix(by, "label:"):
			if v, ok := a.Labels[strings.TrimPrefix(by, "label:")]; ok {
				vals = []string{v}
			}
		case strings.HasPrefix(by, "observable:"):
			t := ObservableType(strings.TrimPrefix(by, "observable:"))
			for _, o := range a.Observables {
				if o.Type == t {
					vals = append(vals, o.Value)
				}
			}
			// The first value of the type decides (the host the alert
			// is about comes first in every parser's output).
			if len(vals) > 1 {
				vals = vals[:1]
			}
		}
		if len(vals) > 0 {
			found = true
		}
		b.WriteString("\x00" + by + "=" + strings.Join(vals, ","))
	}
	if !found {
		b.Reset()
		b.WriteString("f" + itoa(integrationID) + "\x00" + a.Fingerprint)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// GroupKeys returns the keys of a under a rule whose Match is "any": one
// per value of each of By (every value of an observable type, not only the
// first), at most MaxGroupKeys; with none, the alert's own fingerprint key.
func (r GroupingRule) GroupKeys(integrationID int64, a *AlertInput) []string {
	prefix := ""
	if !r.Across {
		prefix = "i" + itoa(integrationID)
	}
	var keys []string
	seen := map[string]bool{}
	add := func(by, v string) {
		if v == "" || len(keys) >= MaxGroupKeys {
			return
		}
		sum := sha256.Sum256([]byte(prefix + "\x00" + by + "=" + v))
		k := "any:" + hex.EncodeToString(sum[:16])
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, by := range r.By {
		switch {
		case by == "fingerprint":
			add(by, a.Fingerprint)
		case by == "title":
			add(by, a.Title)
		case strings.HasPrefix(by, "label:"):
			add(by, a.Labels[strings.TrimPrefix(by, "label:")])
		case strings.HasPrefix(by, "observable:"):
			t := ObservableType(strings.TrimPrefix(by, "observable:"))
			for _, o := range a.Observables {
				if o.Type == t {
					add(by, o.Value)
				}
			}
		}
	}
	if len(keys) == 0 {
		keys = []string{r.GroupKey(integrationID, &AlertInput{Fingerprint: a.Fingerprint})}
	}
	return keys
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// ParseAlertSeverity reads the many ways tools write severity: Vigil's words,
// "info"/"warning"/"error"/"critical"/"page", "p1".."p5", "sev1".., and numbers
// on a 1–4 scale (TheHive) are not guessed here; see the parsers.
func ParseAlertSeverity(s string) (Severity, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "low", "info", "informational", "information", "notice", "debug", "minor", "p4", "p5", "sev4", "sev5", "none":
		return SeverityLow, true
	case "medium", "moderate", "warning", "warn", "average", "p3", "sev3":
		return SeverityMedium, true
	case "high", "error", "err", "major", "page", "p2", "sev2", "alert":
		return SeverityHigh, true
	case "critical", "crit", "disaster", "emergency", "fatal", "p1", "sev1", "sev0", "p0":
		return SeverityCritical, true
	}
	return "", false
}

// clipText makes s valid UTF-8 without NUL characters (which PostgreSQL's
// text refuses) and at most n bytes long.
func clipText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary at or before n bytes.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Alert is one alert from an integration, deduplicated by its fingerprint:
// repeats while it fires bump Count and LastSeen; a resolved notification
// resolves it (and moves LastSeen, not Count); firing again starts a new
// occurrence.
type Alert struct {
	ID              int64             `json:"id"`
	IntegrationID   int64             `json:"integration_id"`
	IntegrationName string            `json:"integration_name"`
	Kind            IntegrationKind   `json:"kind"`
	GroupID         int64             `json:"group_id"`
	IncidentID      *int64            `json:"incident_id"`
	Fingerprint     string            `json:"fingerprint"`
	Status          AlertStatus       `json:"status"`
	Title           string            `json:"title"`
	Description     string            `json:"description"`
	Severity        Severity          `json:"severity"`
	TLP             TLP               `json:"tlp"`
	SourceRef       string            `json:"source_ref"`
	URL             string            `json:"url"`
	Labels          map[string]string `json:"labels"`
	Count           int64             `json:"count"`      // firing notifications received, in all occurrences; resolutions add none
	Occurrence      int               `json:"occurrence"` // 1 for the first firing, then one more per re-fire
	StartedAt       time.Time         `json:"started_at"` // the tool's start time of the current occurrence
	FirstSeen       time.Time         `json:"first_seen"`
	LastSeen        time.Time         `json:"last_seen"`
	ResolvedAt      *time.Time        `json:"resolved_at"`
	Raw             json.RawMessage   `json:"raw,omitempty"`
	// Warnings are what intake could not read in the notifications of the
	// current occurrence (the one that raised or re-fired it, and the one
	// that resolved it), and what it did instead; Field names the field in
	// the tool's alert ("startsAt").
	Warnings []FieldError `json:"warnings,omitempty"`

	Observables []*AlertObservable `json:"observables,omitempty"`
	Occurrences []*AlertOccurrence `json:"occurrences,omitempty"`
	// Evidence is the files kept with the alert (a reported message and
	// its attachments), with their digests; never rendered.
	Evidence []*Evidence `json:"evidence,omitempty"`
}

// AlertObservable is a value found in an alert, with where else it was seen.
type AlertObservable struct {
	Type  ObservableType `json:"type"`
	Value string         `json:"value"`
	// SeenInAlerts counts other alerts holding it (SeenAlerts lists a few);
	// SeenIn lists incidents the actor may see that hold it.
	SeenInAlerts int           `json:"seen_in_alerts"`
	SeenAlerts   []AlertRef    `json:"seen_alerts"`
	SeenIn       []IncidentRef `json:"seen_in"`
}

// AlertRef names an alert briefly.
type AlertRef struct {
	ID       int64       `json:"id"`
	Title    string      `json:"title"`
	Status   AlertStatus `json:"status"`
	LastSeen time.Time   `json:"last_seen"`
}

// AlertOccurrence is one firing period of an alert.
type AlertOccurrence struct {
	N          int        `json:"n"`
	StartedAt  time.Time  `json:"started_at"`
	FirstSeen  time.Time  `json:"first_seen"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

// GroupState is where an alert group stands in triage.
type GroupState string

// The group states.
const (
	GroupNew          GroupState = "new"          // waiting for a human
	GroupAcknowledged GroupState = "acknowledged" // someone is looking at it
	GroupDismissed    GroupState = "dismissed"    // not worth an incident; Reason says why
	GroupPromoted     GroupState = "promoted"     // feeds an incident (promoted or attached)
	GroupMerged       GroupState = "merged"       // its alerts moved into another group
)

// GroupStates lists every state.
var GroupStates = []GroupState{GroupNew, GroupAcknowledged, GroupDismissed, GroupPromoted, GroupMerged}

// AlertGroup is related alerts, triaged together.
type AlertGroup struct {
	ID            int64        `json:"id"`
	Key           string       `json:"-"`
	Title         string       `json:"title"`
	State         GroupState   `json:"state"`
	Severity      Severity     `json:"severity"` // the highest of its alerts
	TLP           TLP          `json:"tlp"`      // the strictest of its alerts
	IntegrationID int64        `json:"integration_id"`
	IncidentID    *int64       `json:"incident_id"`
	Incident      *IncidentRef `json:"incident,omitempty"`
	MergedInto    *int64       `json:"merged_into"`
	Reason        string       `json:"reason"`
	AlertCount    int          `json:"alert_count"` // alerts and re-fires that joined it
	Firing        int          `json:"firing"`      // its alerts still firing
	FirstSeen     time.Time    `json:"first_seen"`
	LastSeen      time.Time    `json:"last_seen"`
	UpdatedAt     time.Time    `json:"updated_at"`
	Alerts        []*Alert     `json:"alerts,omitempty"`
}

// IngestResult counts what one intake request did.
type IngestResult struct {
	Received  int     `json:"received"`
	Created   int     `json:"created"`   // new alerts
	Repeated  int     `json:"repeated"`  // repeats of firing alerts, and resolutions of resolved ones
	Refired   int     `json:"refired"`   // resolved alerts firing again
	Resolved  int     `json:"resolved"`  // resolved notifications applied
	Promoted  []int64 `json:"promoted"`  // incidents created by promotion rules
	AlertIDs  []int64 `json:"alert_ids"` // in input order
	GroupIDs  []int64 `json:"group_ids"` // in input order
	Incidents []int64 `json:"incidents"` // incidents the alerts fed, if any
}

// AlertGroupFilter selects groups for the triage queue.
type AlertGroupFilter struct {
	States        []GroupState `json:"state"`
	Severities    []Severity   `json:"severity"`
	IntegrationID int64        `json:"integration_id"`
	Sort          string       `json:"sort"` // "severity" (highest first, then newest), "newest", "oldest"
	Limit         int          `json:"limit"`
	Offset        int          `json:"offset"`
}

// Group sorts.
var GroupSorts = []string{"severity", "newest", "oldest", "last_seen"}

// Normalize fills defaults and checks the filter.
func (f *AlertGroupFilter) Normalize() error {
	var p Problems
	if len(f.States) == 0 {
		f.States = []GroupState{GroupNew, GroupAcknowledged}
	}
	for _, s := range f.States {
		if !inEnum(s, GroupStates) {
			p.Add("state", "Unknown state %q.", s)
		}
	}
	for _, s := range f.Severities {
		if !inEnum(s, Severities) {
			p.Add("severity", "Unknown severity %q.", s)
		}
	}
	if f.Sort == "" {
		f.Sort = "severity"
	} else if !slices.Contains(GroupSorts, f.Sort) {
		p.Add("sort", "Unknown sort %q; one of %s.", f.Sort, strings.Join(GroupSorts, ", "))
	}
	if f.Limit <= 0 {
		f.Limit = 50
	} else if f.Limit > 500 {
		p.Add("limit", "At most 500 per page.")
	}
	if f.Offset < 0 {
		p.Add("offset", "The offset cannot be negative.")
	}
	return p.Err()
}

// AlertGroupPage is one page of groups.
type AlertGroupPage struct {
	Groups []*AlertGroup `json:"groups"`
	Total  int           `json:"total"`
}

// GroupAction is a triage decision on one or more groups.
type GroupAction struct {
	Action     string  `json:"action"` // acknowledge, dismiss, promote, attach, merge, reopen
	GroupIDs   []int64 `json:"group_ids"`
	Reason     string  `json:"reason,omitempty"`      // dismiss: why (required)
	IncidentID int64   `json:"incident_id,omitempty"` // attach: the incident
	IntoID     int64   `json:"into,omitempty"`        // merge: the group that takes the others' alerts
	// Promote: the incident's fields; empty ones come from the group.
	Title    string       `json:"title,omitempty"`
	Severity Severity     `json:"severity,omitempty"`
	Type     IncidentType `json:"type,omitempty"`
}

// The group actions.
var GroupActions = []string{"acknowledge", "dismiss", "promote", "attach", "merge", "reopen"}

// Validate checks the action's fields.
func (a *GroupAction) Validate() error {
	var p Problems
	if !slices.Contains(GroupActions, a.Action) {
		p.Add("action", "Unknown action %q; one of %s.", a.Action, strings.Join(GroupActions, ", "))
	}
	if len(a.GroupIDs) == 0 {
		p.Add("group_ids", "Choose at least one alert group.")
	} else if len(a.GroupIDs) > 500 {
		p.Add("group_ids", "At most 500 groups at once.")
	}
	a.Reason = strings.TrimSpace(a.Reason)
	switch a.Action {
	case "dismiss":
		if a.Reason == "" {
			p.Add("reason", "Say why the alerts are dismissed.")
		}
	case "attach":
		if a.IncidentID == 0 {
			p.Add("incident_id", "Choose the incident to attach the alerts to.")
		}
	case "merge":
		if a.IntoID == 0 {
			p.Add("into", "Choose the group to merge into.")
		}
	case "promote":
		if a.Severity != "" && !inEnum(a.Severity, Severities) {
			p.Add("severity", "Unknown severity %q.", a.Severity)
		}
		if a.Type != "" && !inEnum(a.Type, IncidentTypes) {
			p.Add("type", "Unknown incident type %q.", a.Type)
		}
	}
	if utf8.RuneCountInString(a.Reason) > MaxDismissReasonLen {
		p.Add("reason", "At most %d characters.", MaxDismissReasonLen)
	}
	return p.Err()
}

// AlertFilter selects alerts.
type AlertFilter struct {
	GroupID       int64         `json:"group_id"`
	IntegrationID int64         `json:"integration_id"`
	Status        []AlertStatus `json:"status"`
	Limit         int           `json:"limit"`
	Offset        int           `json:"offset"`
}

// IntegrationService manages integrations. Needs PermIntegrationAdmin,
// except AuthenticateIntegration, which the intake endpoint calls with the
// bearer token before any actor exists.
type IntegrationService interface {
	// CreateIntegration stores in and returns its token, shown only now.
	CreateIntegration(ctx context.Context, in *Integration) (token string, err error)
	FindIntegrations(ctx context.Context) ([]*Integration, error)
	FindIntegrationByID(ctx context.Context, id int64) (*Integration, error)
	UpdateIntegration(ctx context.Context, id int64, u IntegrationUpdate) (*Integration, error)
	// RotateIntegrationToken replaces the token; the old one stops working.
	RotateIntegrationToken(ctx context.Context, id int64) (token string, err error)
	DeleteIntegration(ctx context.Context, id int64) error
	// AuthenticateIntegration returns the enabled integration the token
	// belongs to, or EUNAUTHORIZED; for a disabled one, the integration
	// and EFORBIDDEN.
	AuthenticateIntegration(ctx context.Context, token string) (*Integration, error)
}

// AlertService takes alerts in and serves the triage queue. Ingest runs as
// the integration; reads need PermAlertRead, actions PermAlertTriage.
type AlertService interface {
	// IngestAlerts stores prepared alerts from in, all in one transaction:
	// when it returns nil, every one of them is committed.
	IngestAlerts(ctx context.Context, in *Integration, alerts []*AlertInput) (*IngestResult, error)
	FindAlertGroups(ctx context.Context, f AlertGroupFilter) (*AlertGroupPage, error)
	// FindAlertGroupByID returns a group with its alerts.
	FindAlertGroupByID(ctx context.Context, id int64) (*AlertGroup, error)
	FindAlerts(ctx context.Context, f AlertFilter) ([]*Alert, error)
	// FindAlertByID returns an alert with its observables (and where else
	// each was seen), occurrences and raw JSON.
	FindAlertByID(ctx context.Context, id int64) (*Alert, error)
	// ActOnGroups applies a triage decision to each group, all or none.
	// It returns the incident promoted or attached to, if any.
	ActOnGroups(ctx context.Context, a GroupAction) (incidentID int64, err error)
}

// HashIntegrationToken returns what the store keeps of an integration token.
func HashIntegrationToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
