package stix

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// Export is what an incident's bundle is made of.
type Export struct {
	Org         string // the reporting organisation's name
	Incident    *vigil.Incident
	Observables []*vigil.Observable
	// Report adds a report object that lists everything in the bundle.
	Report bool
	// MaxTLP bounds every object of the bundle: whatever is marked above
	// it is left out (an incident above it, then, with what names it or is
	// marked like it: see withinTLP). Empty keeps all.
	MaxTLP vigil.TLP
	// Now is the bundle's time (its report's published time).
	Now time.Time
}

// Incident Core Extension (OASIS CTI TC, cti-stix-common-objects).
const incidentCoreExtension = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"

// Export writes the incident as a STIX 2.1 bundle: the reporting
// organisation (identity), the incident (with the Incident Core Extension
// where Vigil's fields fit it), each observable as its cyber-observable
// and, for those marked IOC, an indicator with its pattern, a sighting of
// it by the organisation and a relationship to the incident; the TLP 2.0
// marking definitions in use; and, if asked, a report. Every object but
// the marking definitions carries the TLP marking of what it came from.
func (e *Export) Bundle() (*Bundle, error) {
	inc := e.Incident
	if inc == nil || inc.Reference == "" {
		return nil, fmt.Errorf("stix: no incident")
	}
	b, err := e.bundle()
	if err != nil || e.MaxTLP == "" {
		return b, err
	}
	b.Objects = withinTLP(b.Objects, e.MaxTLP)
	return b, nil
}

// withinTLP keeps the objects marked at or below max, and of those only
// the ones whose references all stay in: an incident above max goes, and
// with it what is marked like it or names it (the observed data, the
// relationships and sightings, the report). The identity stays, marked
// like the least restrictive object it signs, and the marking definitions
// are those still in use.
func withinTLP(objs []Object, max vigil.TLP) []Object {
	tlpOf := func(o Object) (vigil.TLP, bool) {
		refs, _ := o["object_marking_refs"].([]string)
		t := vigil.TLP("")
		for _, r := range refs {
			rt, ok := TLPOf(r)
			if !ok {
				return "", false
			}
			t = maxTLP(t, rt)
		}
		return t, t != ""
	}
	gone := map[string]bool{}
	for _, o := range objs {
		if o.Type() == "marking-definition" || o.Type() == "identity" {
			continue
		}
		if t, ok := tlpOf(o); !ok || t.Rank() > max.Rank() {
			gone[o.ID()] = true
		}
	}
	// What names a removed object goes too, until nothing more does.
	for changed := true; changed; {
		changed = false
		for _, o := range objs {
			if gone[o.ID()] || o.Type() == "marking-definition" {
				continue
			}
			for k, v := range o {
				var refs []string
				switch x := v.(type) {
				case string:
					if strings.HasSuffix(k, "_ref") {
						refs = []string{x}
					}
				case []string:
					if strings.HasSuffix(k, "_refs") && k != "object_marking_refs" {
						refs = x
					}
				}
				for _, r := range refs {
					if gone[r] {
						gone[o.ID()], changed = true, true
					}
				}
			}
		}
	}
	var kept []Object
	least := max
	for _, o := range objs {
		if gone[o.ID()] || o.Type() == "marking-definition" {
			continue
		}
		if t, ok := tlpOf(o); ok && o.Type() != "identity" && t.Rank() < least.Rank() {
			least = t
		}
		kept = append(kept, o)
	}
	used := map[string]bool{}
	for i, o := range kept {
		if o.Type() == "identity" {
			id := Object{}
			for k, v := range o {
				id[k] = v
			}
			id["object_marking_refs"] = []string{TLPMarkings[least].ID()}
			kept[i] = id
		}
		for _, r := range kept[i]["object_marking_refs"].([]string) {
			used[r] = true
		}
	}
	var marks []Object
	for _, t := range vigil.TLPs {
		if used[TLPMarkings[t].ID()] {
			marks = append(marks, TLPMarkings[t])
		}
	}
	return append(marks, kept...)
}

// effectiveTLP is the label an object is marked with: AMBER when unset.
func effectiveTLP(t vigil.TLP) vigil.TLP {
	if t == "" {
		return vigil.TLPAmber
	}
	return t
}

// bundle is Bundle without the max_tlp checks: Indicators, which keeps
// only the indicators and their observables, uses it for an incident of
// any label.
func (e *Export) bundle() (*Bundle, error) {
	inc := e.Incident
	identity := IdentityID(e.Org)
	created, modified := Timestamp(inc.CreatedAt), Timestamp(inc.UpdatedAt)
	used := map[vigil.TLP]bool{}
	mark := func(o Object, t vigil.TLP) Object {
		t = effectiveTLP(t)
		used[t] = true
		o["object_marking_refs"] = []string{TLPMarkings[t].ID()}
		return o
	}
	var objs []Object
	objs = append(objs, mark(Object{
		"type": "identity", "spec_version": SpecVersion, "id": identity, "created": created, "modified": created,
		"name": orDefault(e.Org, "Vigil"), "identity_class": "organization",
	}, inc.TLP))

	incID := vigilID("incident", e.Org, inc.Reference)
	io := Object{
		"type": "incident", "spec_version": SpecVersion, "id": incID, "created": created, "modified": modified,
		"created_by_ref": identity, "name": inc.Reference + ": " + inc.Title,
		"external_references": []map[string]any{{"source_name": "vigil", "external_id": inc.Reference}},
		"labels":              []string{string(inc.Type)},
		"extensions":          map[string]any{incidentCoreExtension: incidentCore(inc)},
	}
	if inc.Summary != "" {
		io["description"] = inc.Summary
	}
	objs = append(objs, mark(io, inc.TLP))

	// Observables: one SCO per distinct value (two observables may map to
	// one SCO: a host name and a domain); indicators for IOCs.
	var scoIDs []string
	seenSCO := map[string]bool{}
	var first, last time.Time
	type ioc struct {
		pattern string
		obs     *vigil.Observable
		sco     string
	}
	var iocs []ioc
	for _, ob := range e.Observables {
		t := obsTLP(ob, inc)
		if e.MaxTLP != "" && t.Rank() > e.MaxTLP.Rank() {
			continue
		}
		sco, pattern, ok := SCO(ob)
		if !ok {
			continue
		}
		if first.IsZero() || ob.CreatedAt.Before(first) {
			first = ob.CreatedAt
		}
		if ob.CreatedAt.After(last) {
			last = ob.CreatedAt
		}
		if !seenSCO[sco.ID()] {
			seenSCO[sco.ID()] = true
			scoIDs = append(scoIDs, sco.ID())
			objs = append(objs, mark(sco, t))
		}
		if ob.IOC {
			iocs = append(iocs, ioc{pattern, ob, sco.ID()})
		}
	}
	var observed string
	if len(scoIDs) > 0 {
		observed = vigilID("observed-data", e.Org, inc.Reference)
		objs = append(objs, mark(Object{
			"type": "observed-data", "spec_version": SpecVersion, "id": observed, "created": created, "modified": modified,
			"created_by_ref": identity, "first_observed": Timestamp(first), "last_observed": Timestamp(last),
			"number_observed": 1, "object_refs": scoIDs,
		}, inc.TLP))
		objs = append(objs, mark(relationship(e.Org, observed, "related-to", incID, identity, created, modified), inc.TLP))
	}
	seenInd := map[string]bool{}
	for _, c := range iocs {
		t := obsTLP(c.obs, inc)
		// One indicator per incident and pattern: the same value in two
		// incidents is two indicators, each with its own created time.
		// (One id for both made them two versions of one object with
		// different created times, which STIX forbids.)
		indID := vigilID("indicator", e.Org, inc.Reference, c.pattern)
		if seenInd[indID] {
			continue
		}
		seenInd[indID] = true
		ts := Timestamp(c.obs.CreatedAt)
		ind := Object{
			"type": "indicator", "spec_version": SpecVersion, "id": indID, "created": ts, "modified": Timestamp(c.obs.UpdatedAt),
			"created_by_ref": identity, "name": string(c.obs.Type) + " " + c.obs.Value, "indicator_types": []string{"malicious-activity"},
			"pattern": c.pattern, "pattern_type": "stix", "pattern_version": SpecVersion, "valid_from": ts,
		}
		if c.obs.Description != "" {
			ind["description"] = c.obs.Description
		}
		objs = append(objs, mark(ind, t))
		objs = append(objs, mark(relationship(e.Org, indID, "related-to", incID, identity, ts, ts), maxTLP(t, inc.TLP)))
		objs = append(objs, mark(relationship(e.Org, indID, "based-on", observed, identity, ts, ts), t))
		objs = append(objs, mark(Object{
			"type": "sighting", "spec_version": SpecVersion, "id": vigilID("sighting", e.Org, inc.Reference, c.pattern),
			"created": ts, "modified": ts, "created_by_ref": identity, "first_seen": ts, "last_seen": ts, "count": 1,
			"sighting_of_ref": indID, "observed_data_refs": []string{observed}, "where_sighted_refs": []string{identity},
		}, maxTLP(t, inc.TLP)))
	}
	if e.Report {
		var refs []string
		for _, o := range objs {
			refs = append(refs, o.ID())
		}
		now := e.Now
		if now.IsZero() {
			now = inc.UpdatedAt
		}
		objs = append(objs, mark(Object{
			"type": "report", "spec_version": SpecVersion, "id": vigilID("report", e.Org, inc.Reference), "created": created,
			"modified": modified, "created_by_ref": identity, "name": "Incident " + inc.Reference + ": " + inc.Title,
			"report_types": []string{"threat-report"}, "published": Timestamp(now), "object_refs": refs,
		}, inc.TLP))
	}
	// The marking definitions in use, first.
	var marks []Object
	for _, t := range vigil.TLPs {
		if used[t] {
			marks = append(marks, TLPMarkings[t])
		}
	}
	objs = append(marks, objs...)
	return &Bundle{Type: "bundle", ID: vigilID("bundle", e.Org, inc.Reference, modified), Objects: objs}, nil
}

func relationship(org, src, typ, dst, by, created, modified string) Object {
	return Object{
		"type": "relationship", "spec_version": SpecVersion, "id": vigilID("relationship", org, src, typ, dst),
		"created": created, "modified": modified, "created_by_ref": by,
		"relationship_type": typ, "source_ref": src, "target_ref": dst,
	}
}

// obsTLP is an observable's label in an export: its own, except that an
// observable of a TLP:RED or AMBER+STRICT incident is never shared below
// the incident's label (observables default to AMBER, so their own label
// does not say someone meant to release it).
func obsTLP(ob *vigil.Observable, inc *vigil.Incident) vigil.TLP {
	t := ob.TLP
	if t == "" || inc.TLP.Rank() >= vigil.TLPAmberStrict.Rank() {
		t = maxTLP(t, inc.TLP)
	}
	return t
}

func maxTLP(a, b vigil.TLP) vigil.TLP {
	if a.Rank() >= b.Rank() {
		return a
	}
	return b
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

// incidentCore maps Vigil's fields to the Incident Core Extension (v2.0.0,
// cti-stix-common-objects incident-ef7): determination and investigation
// status from the status, criticality from the severity (the extension's
// Appendix B mapping of a qualitative scale), detection method from the
// source, incident types where the event-type vocabulary has one.
// determination takes only the extension's own values (blocked,
// failed-attempt, false-positive, low-value, successful-attempt,
// suspected): an incident Vigil calls confirmed happened, so it is a
// successful-attempt; one still in triage, or routed out to the police,
// Report Fraud or another incident without being worked here, is suspected.
func incidentCore(inc *vigil.Incident) map[string]any {
	ext := map[string]any{"extension_type": "property-extension"}
	switch inc.Status {
	case vigil.StatusTriage:
		ext["determination"], ext["investigation_status"] = "suspected", "new"
	case vigil.StatusNotIncident:
		ext["determination"], ext["investigation_status"] = "false-positive", "closed"
	case vigil.StatusDuplicate, vigil.StatusPolice, vigil.StatusReportFraud:
		ext["determination"], ext["investigation_status"] = "suspected", "closed"
	case vigil.StatusClosed, vigil.StatusReviewed:
		ext["determination"], ext["investigation_status"] = "successful-attempt", "closed"
	default:
		ext["determination"], ext["investigation_status"] = "successful-attempt", "open"
	}
	if c, ok := map[vigil.Severity]int{vigil.SeverityLow: 15, vigil.SeverityMedium: 40, vigil.SeverityHigh: 70, vigil.SeverityCritical: 95}[inc.Severity]; ok {
		ext["criticality"] = c
	}
	if m, ok := map[vigil.Source]string{vigil.SourceStaffReport: "user-reporting", vigil.SourceAlert: "automated-tool",
		vigil.SourceManual: "human-review"}[inc.Source]; ok {
		ext["detection_methods"] = []string{m}
	}
	if t, ok := map[vigil.IncidentType]string{
		vigil.TypeMalware:            "known-malware",
		vigil.TypeRansomware:         "ransomware",
		vigil.TypeDenialOfService:    "denial-of-service",
		vigil.TypeDataBreach:         "data-exfiltration",
		vigil.TypeUnauthorisedAccess: "unauthorized-access-system",
		vigil.TypeInsiderMisuse:      "policy-violation",
		vigil.TypeUnauthorisedUse:    "policy-violation",
	}[inc.Type]; ok {
		ext["incident_types"] = []string{t}
	}
	return ext
}

// Indicators is what sharing an incident's IOCs sends: the organisation's
// identity, an indicator and the cyber-observable of each observable
// marked IOC at or below MaxTLP (AMBER when unset: AMBER+STRICT and RED
// never leave the organisation), and the marking definitions they use.
// The incident itself is not in it.
func (e *Export) Indicators() ([]Object, error) {
	cp := *e
	if cp.MaxTLP == "" || cp.MaxTLP.Rank() > vigil.TLPAmber.Rank() {
		cp.MaxTLP = vigil.TLPAmber
	}
	var iocs []*vigil.Observable
	for _, o := range e.Observables {
		if o.IOC {
			iocs = append(iocs, o)
		}
	}
	cp.Observables, cp.Report = iocs, false
	b, err := cp.bundle()
	if err != nil {
		return nil, err
	}
	var out []Object // the identity first, as Bundle writes it
	for _, o := range b.Objects {
		switch o.Type() {
		case "incident", "observed-data", "relationship", "sighting", "report", "marking-definition":
			continue
		}
		out = append(out, o)
	}
	if len(out) <= 1 { // the identity alone
		return nil, nil
	}
	// The identity: marked like the least restrictive object it signs.
	min := vigil.TLPRed
	for _, o := range out[1:] {
		if refs, ok := o["object_marking_refs"].([]string); ok {
			if t, ok := TLPOf(refs[0]); ok && t.Rank() < min.Rank() {
				min = t
			}
		}
	}
	id := Object{}
	for k, v := range out[0] {
		id[k] = v
	}
	id["object_marking_refs"] = []string{TLPMarkings[min].ID()}
	out[0] = id
	used := map[string]bool{TLPMarkings[min].ID(): true}
	for _, o := range out[1:] {
		for _, r := range o["object_marking_refs"].([]string) {
			used[r] = true
		}
	}
	var marks []Object
	for _, t := range vigil.TLPs {
		if used[TLPMarkings[t].ID()] {
			marks = append(marks, TLPMarkings[t])
		}
	}
	return append(marks, out...), nil
}
