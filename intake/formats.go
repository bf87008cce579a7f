package intake

import (
	"fmt"
	json "github.com/goccy/go-json"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

// --- Prometheus Alertmanager (webhook_config, payload version 4) ---

// amPayload is Alertmanager's webhook body, the fields Vigil reads of it.
// Grafana's contact point sends the same shape with a few more fields
// (grafanaPayload). The group's fields (groupKey, receiver, groupLabels,
// commonLabels, commonAnnotations, externalURL, truncatedAlerts) repeat
// what each alert carries or say where it was sent; the decoder skips them
// rather than build maps nobody reads, on every request of a storm.
type amPayload struct {
	Version string    `json:"version"`
	Status  string    `json:"status"`
	Alerts  []amAlert `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana only.
	SilenceURL   string             `json:"silenceURL,omitempty"`
	DashboardURL string             `json:"dashboardURL,omitempty"`
	PanelURL     string             `json:"panelURL,omitempty"`
	ValueString  string             `json:"valueString,omitempty"`
	Values       map[string]float64 `json:"values,omitempty"`
	OrgID        *int64             `json:"orgId,omitempty"`
}

func parseAlertmanager(body []byte) ([]*vigil.AlertInput, error) {
	var p amPayload
	if err := decode(body, &p, "an Alertmanager webhook payload"); err != nil {
		return nil, err
	}
	if p.Alerts == nil {
		return nil, vigil.Invalid("alerts", "This is not an Alertmanager webhook payload: it has no \"alerts\" array.")
	}
	if p.Version != "" && p.Version != "4" {
		return nil, vigil.Invalid("version", "Alertmanager payload version %q is not supported; Vigil reads version 4.", p.Version)
	}
	return amAlerts(&p, "Alertmanager")
}

func amAlerts(p *amPayload, tool string) ([]*vigil.AlertInput, error) {
	out := make([]*vigil.AlertInput, 0, len(p.Alerts))
	for i := range p.Alerts {
		a := &p.Alerts[i]
		if len(a.Labels) == 0 {
			return nil, vigil.Invalid(fmt.Sprintf("alerts[%d].labels", i), "Each %s alert needs its labels.", tool)
		}
		in := &vigil.AlertInput{
			Fingerprint: a.Fingerprint,
			Status:      vigil.AlertFiring,
			Title:       firstOf(a.Annotations["summary"], a.Annotations["title"], a.Labels["alertname"], a.Labels["__alert_rule_title__"]),
			Description: firstOf(a.Annotations["description"], a.Annotations["message"], a.Annotations["summary"]),
			SourceRef:   a.Fingerprint,
			URL:         firstOf(a.GeneratorURL, a.PanelURL, a.DashboardURL),
			// The labels name hosts and addresses; the raw JSON is the
			// alert as the tool sent it, re-encoded from the fields of the
			// documented format (so not decoded twice on the hot path).
			Later: func(in *vigil.AlertInput) {
				in.Observables = append(in.Observables, observablesFromLabels(a.Labels, sortedKeys(a.Labels))...)
				in.Raw, _ = json.Marshal(a)
			},
		}
		in.At = readTime(in, "startsAt", a.StartsAt)
		if a.Status == "resolved" {
			in.Status = vigil.AlertResolved
			in.EndedAt = readTime(in, "endsAt", a.EndsAt)
		}
		if s, ok := vigil.ParseAlertSeverity(firstOf(a.Labels["severity"], a.Labels["priority"], a.Labels["level"])); ok {
			in.Severity = s
		}
		in.Labels = make(map[string]string, len(a.Labels)+len(a.Annotations))
		for k, v := range a.Labels {
			in.Labels[k] = v
		}
		for k, v := range a.Annotations {
			in.Labels["annotations."+k] = v
		}
		if a.ValueString != "" {
			in.Labels["valueString"] = a.ValueString
		}
		out = append(out, in)
	}
	return out, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// --- Grafana alerting webhook contact point ---

type grafanaPayload struct {
	amPayload
	OrgID   int64  `json:"orgId"`
	Title   string `json:"title"`
	State   string `json:"state"`
	Message string `json:"message"`
}

func parseGrafana(body []byte) ([]*vigil.AlertInput, error) {
	var p grafanaPayload
	if err := decode(body, &p, "a Grafana webhook payload"); err != nil {
		return nil, err
	}
	if p.Alerts == nil {
		return nil, vigil.Invalid("alerts", "This is not a Grafana alerting webhook payload: it has no \"alerts\" array. (Legacy dashboard alerts are not supported; use Grafana Alerting.)")
	}
	return amAlerts(&p.amPayload, "Grafana")
}

// --- Splunk webhook alert action ---

type splunkPayload struct {
	Result      map[string]any `json:"result"`
	SID         string         `json:"sid"`
	ResultsLink string         `json:"results_link"`
	SearchName  string         `json:"search_name"`
	Owner       string         `json:"owner"`
	App         string         `json:"app"`
}

func parseSplunk(body []byte) ([]*vigil.AlertInput, error) {
	var p splunkPayload
	if err := decode(body, &p, "a Splunk webhook alert payload"); err != nil {
		return nil, err
	}
	if p.SearchName == "" && p.SID == "" {
		return nil, vigil.Invalid("search_name", "This is not a Splunk webhook alert payload: it has no search_name or sid.")
	}
	in := &vigil.AlertInput{
		Status:    vigil.AlertFiring,
		Title:     firstOf(p.SearchName, "Splunk search "+p.SID),
		SourceRef: p.SID,
		URL:       p.ResultsLink,
		Raw:       json.RawMessage(body),
		Labels:    map[string]string{"search_name": p.SearchName, "sid": p.SID, "owner": p.Owner, "app": p.App},
	}
	result := map[string]string{}
	flatten("", p.Result, result, vigil.MaxAlertLabels-4)
	for k, v := range result {
		in.Labels["result."+k] = v
	}
	in.Description = describeResult(result)
	if s, ok := vigil.ParseAlertSeverity(firstOf(result["severity"], result["urgency"], result["priority"])); ok {
		in.Severity = s
	}
	in.At = readTime(in, "result._time", result["_time"])
	in.Observables = observablesFromLabels(result, sortedKeys(result))
	return []*vigil.AlertInput{in}, nil
}

// describeResult writes a search result's fields as "name: value" lines,
// Splunk's internal fields (those starting with _) last and _raw in full.
func describeResult(r map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(r) {
		if !strings.HasPrefix(k, "_") {
			fmt.Fprintf(&b, "%s: %s\n", k, r[k])
		}
	}
	if raw := r["_raw"]; raw != "" {
		b.WriteString("\n" + raw + "\n")
	}
	return b.String()
}

// --- Wazuh alert JSON (integratord custom integration, alerts.json) ---

type wazuhAlert struct {
	Timestamp string `json:"timestamp"`
	ID        string `json:"id"`
	Rule      *struct {
		Level       any    `json:"level"` // a number; checked by wazuhLevel
		Description string `json:"description"`
		ID          string `json:"id"`
	} `json:"rule"`
	FullLog string `json:"full_log"`
}

func parseWazuh(body []byte) ([]*vigil.AlertInput, error) {
	var w wazuhAlert
	if err := decode(body, &w, "a Wazuh alert"); err != nil {
		return nil, err
	}
	if w.Rule == nil || (w.Rule.Description == "" && w.Rule.ID == "") {
		return nil, vigil.Invalid("rule", "This is not a Wazuh alert: it has no rule with a description.")
	}
	if err := wazuhLevel(&w.Rule.Level); err != nil {
		return nil, err
	}
	tree, err := decodeAny(body)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	flatten("", tree, labels, vigil.MaxAlertLabels)
	delete(labels, "full_log") // kept as the description
	in := &vigil.AlertInput{
		Status:      vigil.AlertFiring,
		Title:       firstOf(w.Rule.Description, "Wazuh rule "+w.Rule.ID),
		Description: w.FullLog,
		SourceRef:   w.ID,
		Labels:      labels,
		Raw:         json.RawMessage(body),
	}
	in.At = readTime(in, "timestamp", w.Timestamp)
	if lvl, ok := w.Rule.Level.(float64); ok {
		in.Severity = WazuhSeverity(int(lvl))
	}
	// The agent first: it is the host the alert is about.
	var obs []vigil.ObservableInput
	if name := labels["agent.name"]; name != "" {
		obs = append(obs, vigil.ObservableInput{Type: vigil.ObsHostname, Value: name})
	}
	keys := sortedKeys(labels)
	var rest []string
	for _, k := range keys {
		if k != "agent.name" && !strings.HasPrefix(k, "manager.") && !strings.HasPrefix(k, "rule.") && !strings.HasPrefix(k, "decoder.") && k != "location" {
			rest = append(rest, k)
		}
	}
	in.Observables = append(obs, observablesFromLabels(labels, rest)...)
	return []*vigil.AlertInput{in}, nil
}

// wazuhLevel checks rule.level, decoded as any (go-json names no field
// for a type error inside a json.Number): a number, or a string holding
// one, which it leaves as a float64; absent, nil.
func wazuhLevel(v *any) error {
	switch x := (*v).(type) {
	case nil, float64:
		return nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			*v = f
			return nil
		}
	}
	return vigil.Invalid("rule.level", "In a Wazuh alert, rule.level must be a number (the rule's level, 0 to 15), not %s.", jsonKind(*v))
}

// jsonKind names the JSON type of a value decoded as any, with the value
// when it is short and plain.
func jsonKind(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) <= 40 && vigil.PlainText(x, false) {
			return fmt.Sprintf("the JSON string %q", x)
		}
		return "a JSON string"
	case bool:
		return "true or false"
	case []any:
		return "a JSON array"
	case map[string]any:
		return "a JSON object"
	}
	return "a JSON number"
}

// WazuhSeverity maps a Wazuh rule level (0–15) to a severity: 12 and above
// are Wazuh's "high importance" events and severe attacks.
func WazuhSeverity(level int) vigil.Severity {
	switch {
	case level >= 12:
		return vigil.SeverityCritical
	case level >= 8:
		return vigil.SeverityHigh
	case level >= 5:
		return vigil.SeverityMedium
	}
	return vigil.SeverityLow
}

// --- TheHive alert API (POST /api/alert, /api/v1/alert) ---

type theHiveAlert struct {
	Type         string            `json:"type"`
	Source       string            `json:"source"`
	SourceRef    string            `json:"sourceRef"`
	Title        string            `json:"title"`
	Description  string            `json:"description"`
	Severity     *int              `json:"severity"`
	TLP          *int              `json:"tlp"`
	PAP          *int              `json:"pap"`
	Date         any               `json:"date"` // milliseconds since 1970; any: checked by the parser
	Tags         []string          `json:"tags"`
	ExternalLink string            `json:"externalLink"`
	Observables  []theHiveArtifact `json:"observables"`
	Artifacts    []theHiveArtifact `json:"artifacts"` // TheHive 4's name for them
}

type theHiveArtifact struct {
	DataType string `json:"dataType"`
	Data     any    `json:"data"`
	Message  string `json:"message"`
}

func parseTheHive(body []byte) ([]*vigil.AlertInput, error) {
	var h theHiveAlert
	if err := decode(body, &h, "a TheHive alert"); err != nil {
		return nil, err
	}
	var p vigil.Problems
	for field, v := range map[string]string{"type": h.Type, "source": h.Source, "sourceRef": h.SourceRef, "title": h.Title} {
		if strings.TrimSpace(v) == "" {
			p.Add(field, "TheHive alerts need %s.", field)
		}
	}
	if h.Severity != nil && (*h.Severity < 1 || *h.Severity > 4) {
		p.Add("severity", "TheHive severity runs from 1 (low) to 4 (critical).")
	}
	if h.TLP != nil && (*h.TLP < 0 || *h.TLP > 4) {
		p.Add("tlp", "TheHive TLP runs from 0 (white) to 3 (red).")
	}
	switch h.Date.(type) {
	case nil, float64, string:
	default:
		p.Add("date", "In a TheHive alert, date must be a number (milliseconds since 1970), not %s.", jsonKind(h.Date))
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	in := &vigil.AlertInput{
		// TheHive refuses a second alert with the same type, source and
		// sourceRef; Vigil counts it as a repeat of the first.
		Fingerprint: vigil.ComputeFingerprint(vigil.IntegrationTheHive, "", map[string]string{"type": h.Type, "source": h.Source, "sourceRef": h.SourceRef}, []string{"type", "source", "sourceRef"}),
		Status:      vigil.AlertFiring,
		Title:       h.Title,
		Description: h.Description,
		SourceRef:   h.SourceRef,
		URL:         h.ExternalLink,
		Raw:         json.RawMessage(body),
		Labels:      map[string]string{"type": h.Type, "source": h.Source, "sourceRef": h.SourceRef},
	}
	if h.Severity != nil {
		in.Severity = vigil.SeverityFromRank(*h.Severity)
	}
	if h.TLP != nil {
		in.TLP = TheHiveTLP(*h.TLP)
	}
	switch d := h.Date.(type) {
	case float64:
		in.At = readTime(in, "date", strconv.FormatFloat(d, 'f', -1, 64))
	case string:
		in.At = readTime(in, "date", d)
	}
	for i, t := range h.Tags {
		in.Labels["tags."+strconv.Itoa(i)] = t
	}
	for _, o := range append(h.Observables, h.Artifacts...) {
		var vals []string
		switch d := o.Data.(type) {
		case string:
			vals = []string{d}
		case []any: // TheHive 5 accepts a list of values
			for _, v := range d {
				if s, ok := v.(string); ok {
					vals = append(vals, s)
				}
			}
		}
		for _, v := range vals {
			in.Observables = append(in.Observables, vigil.ObservableInput{Type: TheHiveDataType(o.DataType, v), Value: v})
		}
	}
	return []*vigil.AlertInput{in}, nil
}

// TheHiveTLP maps TheHive's TLP numbers, 0 white (clear), 1 green,
// 2 amber, 3 red. Values past 3 read as red: the strictest reading of a
// label Vigil does not know is the safe one.
func TheHiveTLP(n int) vigil.TLP {
	switch n {
	case 0:
		return vigil.TLPClear
	case 1:
		return vigil.TLPGreen
	case 2:
		return vigil.TLPAmber
	}
	return vigil.TLPRed
}

// TheHiveDataType maps TheHive's observable dataType to a Vigil type. An
// "ip" is IPv4 or IPv6 by its value; a dataType Vigil has no type for
// ("other", a custom one) takes the type its value looks like, but a value
// only a "hash" observable is read as a digest: TheHive's analyst said what
// it is, and hex digits called "other" are as often an ID.
func TheHiveDataType(dt, value string) vigil.ObservableType {
	switch strings.ToLower(dt) {
	case "ip":
		if t, ok := vigil.DetectObservableType(value); ok && (t == vigil.ObsIPv4 || t == vigil.ObsIPv6) {
			return t
		}
		return vigil.ObsOtherText
	case "domain":
		return vigil.ObsDomain
	case "fqdn", "hostname":
		return vigil.ObsHostname
	case "url", "uri":
		return vigil.ObsURL
	case "mail", "email", "mail-address":
		return vigil.ObsEmail
	case "hash":
		return vigil.ObsHash
	case "filename":
		return vigil.ObsFileName
	case "registry":
		return vigil.ObsRegistry
	case "autonomous-system", "asn":
		return vigil.ObsASN
	case "username", "user", "user-account":
		return vigil.ObsUser
	case "mac":
		return vigil.ObsMAC
	}
	if t, ok := vigil.DetectObservableType(value); ok && !isHashType(t) {
		return t
	}
	return vigil.ObsOtherText
}
