package vigil

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Incident is a suspected or confirmed cyber security incident, from first
// report to review. Its key times feed the metrics and the legal clocks: the
// UK GDPR 72-hour clock, for one, starts at AwareAt.
type Incident struct {
	ID        int64  `json:"id"`
	Reference string `json:"reference"` // INC-2026-000123, unique and never reused
	// Organisation is the slug of the organisation the incident belongs
	// to; on create, empty means the actor's only (or the default) one.
	Organisation   string `json:"organisation"`
	OrganisationID int64  `json:"-"`
	// SummaryOnly marks an incident the reader sees through a member's
	// summary grant: the fields Summarize keeps, and nothing under it.
	SummaryOnly bool         `json:"summary_only,omitempty"`
	Title       string       `json:"title"`
	Summary     string       `json:"summary"`
	Type        IncidentType `json:"type"`
	Status      Status       `json:"status"`
	Severity    Severity     `json:"severity"`
	Category    int          `json:"category"` // NCSC category, 1 (national cyber emergency) to 6 (localised); 0 = not yet set
	// Significant marks an NCSC "significant cyber security incident": one
	// that may affect national security or the economy, or cause major
	// impact to the organisation's continued operation.
	Significant      bool `json:"significant"`
	TLP              TLP  `json:"tlp"`
	PersonalData     bool `json:"personal_data"`     // personal data involved (UK GDPR Art. 33 may apply)
	EssentialService bool `json:"essential_service"` // an essential service is affected (NIS may apply)
	// DigitalServiceImpact says the incident has a substantial impact on the
	// provision of a digital service the organisation provides (an online
	// marketplace, search engine or cloud service): the UK NIS trigger for
	// a relevant digital service provider (reg. 12(3)), apart from an
	// essential service's.
	DigitalServiceImpact bool `json:"digital_service_impact"`
	CrimeSuspected       bool `json:"crime_suspected"` // report to Report Fraud or the police may be due
	// SignificantCyberThreat marks a significant cyber threat, whether or
	// not an incident has happened: one whose technical characteristics
	// indicate it could result in a major incident (DORA Art. 3(13)), or
	// that can be assumed able to cause considerable damage (NIS2 Art.
	// 6(11)). A DORA financial entity may notify it to its competent
	// authority (DORA Art. 19(2)).
	SignificantCyberThreat bool     `json:"significant_cyber_threat"`
	AffectedServices       []string `json:"affected_services"`
	Source                 Source   `json:"source"`
	Exercise               bool     `json:"exercise"` // an exercise, not a real incident: no duties, no metrics

	LeadID      *int64 `json:"lead_id"`      // the incident lead, the "assignee" of list filters
	CreatedBy   *int64 `json:"created_by"`   // nil for anonymous staff reports and alerts
	DuplicateOf *int64 `json:"duplicate_of"` // set when Status is StatusDuplicate

	Times IncidentTimes `json:"times"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"` // bumped on every change; stale versions get ECONFLICT
}

// IncidentTimes are the key times of an incident. Detected, reported and
// aware default to the creation time; contained, recovered and closed are
// set by status transitions and may be corrected by hand.
type IncidentTimes struct {
	OccurredAt *time.Time `json:"occurred_at"`
	DetectedAt *time.Time `json:"detected_at"`
	ReportedAt *time.Time `json:"reported_at"`
	AwareAt    *time.Time `json:"aware_at"`
	// ClassifiedAt is when the incident was first classified as
	// significant (major, in DORA's words): set when it is first flagged
	// significant or put in NCSC category 1 to 3, and correctable.
	ClassifiedAt *time.Time `json:"classified_at"`
	ContainedAt  *time.Time `json:"contained_at"`
	RecoveredAt  *time.Time `json:"recovered_at"`
	ClosedAt     *time.Time `json:"closed_at"`
}

// IncidentType is the kind of incident, after the NCSC's examples.
type IncidentType string

// The incident type taxonomy.
const (
	TypePhishing                 IncidentType = "phishing"
	TypeMalware                  IncidentType = "malware"
	TypeRansomware               IncidentType = "ransomware"
	TypeDenialOfService          IncidentType = "denial_of_service"
	TypeUnauthorisedAccess       IncidentType = "unauthorised_access"
	TypeUnauthorisedUse          IncidentType = "unauthorised_use"
	TypeUnauthorisedModification IncidentType = "unauthorised_modification"
	TypeDataBreach               IncidentType = "data_breach"
	TypeInsiderMisuse            IncidentType = "insider_misuse"
	TypeSupplyChain              IncidentType = "supply_chain"
	TypeLostDevice               IncidentType = "lost_device"
	TypeOther                    IncidentType = "other"
)

// IncidentTypes lists every incident type.
var IncidentTypes = []IncidentType{
	TypePhishing, TypeMalware, TypeRansomware, TypeDenialOfService, TypeUnauthorisedAccess,
	TypeUnauthorisedUse, TypeUnauthorisedModification, TypeDataBreach, TypeInsiderMisuse,
	TypeSupplyChain, TypeLostDevice, TypeOther,
}

// Severity is how bad an incident is for the organisation.
type Severity string

// The severities, from least to most severe.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists the severities from least to most severe.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Rank orders severities: low is 1, critical is 4, and 0 means invalid.
func (s Severity) Rank() int {
	for i, x := range Severities {
		if x == s {
			return i + 1
		}
	}
	return 0
}

// SeverityFromRank is the inverse of Rank.
func SeverityFromRank(r int) Severity {
	if r < 1 || r > len(Severities) {
		return ""
	}
	return Severities[r-1]
}

// Source is where an incident came from.
type Source string

// The incident sources.
const (
	SourceManual      Source = "manual"        // created by a responder in the UI or API
	SourceStaffReport Source = "staff_report"  // a member of staff on the report page
	SourceAlert       Source = "alert"         // promoted from monitoring alerts
	SourceExternal    Source = "external"      // told by a partner, supplier, customer or authority
	SourceMember      Source = "member_report" // reported up by a member organisation (docs/organisations.md)
)

// Sources lists every source.
var Sources = []Source{SourceManual, SourceStaffReport, SourceAlert, SourceExternal, SourceMember}

// NCSC incident categories run from 1 (national cyber emergency) to 6
// (localised incident). Categories 1 to 3 are significant by definition.
const (
	MinCategory = 1
	MaxCategory = 6
)

// Limits on text fields. They keep rows small and pages fast.
const (
	MaxTitleLen          = 200
	MaxSummaryLen        = 20000
	MaxAffectedServices  = 50
	MaxAffectedLen       = 200
	referenceCounterName = "incident"
)

var referenceRE = regexp.MustCompile(`^INC-(\d{4})-(\d{6,})$`)

// FormatReference returns the human reference for the n-th incident of a year.
func FormatReference(year int, n int64) string {
	return fmt.Sprintf("INC-%04d-%06d", year, n)
}

// IsReference reports whether s looks like an incident reference.
func IsReference(s string) bool { return referenceRE.MatchString(strings.ToUpper(s)) }

// ReferenceCounter names the counter that numbers incidents created in year.
func ReferenceCounter(year int) string { return referenceCounterName + ":" + strconv.Itoa(year) }

// Normalize trims text fields and fills defaults for a new incident.
func (inc *Incident) Normalize() {
	inc.Title = strings.TrimSpace(inc.Title)
	inc.Summary = strings.TrimSpace(inc.Summary)
	if inc.Type == "" {
		inc.Type = TypeOther
	}
	if inc.Severity == "" {
		inc.Severity = SeverityMedium
	}
	if inc.TLP == "" {
		inc.TLP = TLPAmber
	} else if t, ok := ParseTLP(string(inc.TLP)); ok {
		inc.TLP = t
	}
	if inc.Source == "" {
		inc.Source = SourceManual
	}
	if inc.Status == "" {
		inc.Status = StatusTriage
	}
	inc.Status = inc.Status.Canonical()
	inc.AffectedServices = normalizeList(inc.AffectedServices)
	if inc.Category >= MinCategory && inc.Category <= 3 {
		inc.Significant = true
	}
}

func normalizeList(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[strings.ToLower(s)] {
			continue
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out
}

// Validate checks every field and returns all problems at once.
func (inc *Incident) Validate() error {
	var p Problems
	switch n := utf8.RuneCountInString(inc.Title); {
	case n == 0:
		p.Add("title", "Title is required.")
	case n > MaxTitleLen:
		p.Add("title", "Title must be at most %d characters.", MaxTitleLen)
	}
	if !utf8.ValidString(inc.Title) || !utf8.ValidString(inc.Summary) {
		p.Add("title", "Text must be valid UTF-8.")
	} else if !PlainText(inc.Title, false) {
		p.Add("title", "Title must be one line of plain text, without control characters.")
	}
	if !PlainText(inc.Summary, true) {
		p.Add("summary", "Summary must be plain text, without control characters other than line breaks and tabs.")
	}
	if utf8.RuneCountInString(inc.Summary) > MaxSummaryLen {
		p.Add("summary", "Summary must be at most %d characters.", MaxSummaryLen)
	}
	if !inEnum(inc.Type, IncidentTypes) {
		p.Add("type", "Unknown incident type %q.", inc.Type)
	}
	if !inEnum(inc.Severity, Severities) {
		p.Add("severity", "Unknown severity %q.", inc.Severity)
	}
	if !inc.TLP.Valid() {
		p.Add("tlp", "Unknown TLP label %q.", inc.TLP)
	}
	if !inEnum(inc.Status, Statuses) {
		p.Add("status", "Unknown status %q.", inc.Status)
	}
	if !inEnum(inc.Source, Sources) {
		p.Add("source", "Unknown source %q.", inc.Source)
	}
	if inc.Category != 0 && (inc.Category < MinCategory || inc.Category > MaxCategory) {
		p.Add("category", "NCSC category must be between %d and %d.", MinCategory, MaxCategory)
	}
	if inc.Category >= MinCategory && inc.Category <= 3 && !inc.Significant {
		p.Add("significant", "NCSC categories 1 to 3 are significant incidents.")
	}
	if len(inc.AffectedServices) > MaxAffectedServices {
		p.Add("affected_services", "At most %d affected services.", MaxAffectedServices)
	}
	for i, s := range inc.AffectedServices {
		if utf8.RuneCountInString(s) > MaxAffectedLen {
			p.Add(fmt.Sprintf("affected_services[%d]", i), "Must be at most %d characters.", MaxAffectedLen)
		}
	}
	inc.Times.validate(&p)
	return p.Err()
}

func (t *IncidentTimes) validate(p *Problems) {
	// Each pair must be in order when both are known; an incident cannot be
	// detected before it occurred, or contained before it was detected.
	order := []struct {
		name string
		t    *time.Time
	}{
		{"occurred_at", t.OccurredAt},
		{"detected_at", t.DetectedAt},
		{"contained_at", t.ContainedAt},
		{"recovered_at", t.RecoveredAt},
		{"closed_at", t.ClosedAt},
	}
	for i := 0; i < len(order); i++ {
		for j := i + 1; j < len(order); j++ {
			a, b := order[i], order[j]
			if a.t != nil && b.t != nil && b.t.Before(*a.t) {
				p.Add("times."+b.name, "Must not be before %s.", a.name)
			}
		}
	}
	if t.OccurredAt != nil && t.AwareAt != nil && t.AwareAt.Before(*t.OccurredAt) {
		p.Add("times.aware_at", "Must not be before occurred_at.")
	}
	if t.OccurredAt != nil && t.ReportedAt != nil && t.ReportedAt.Before(*t.OccurredAt) {
		p.Add("times.reported_at", "Must not be before occurred_at.")
	}
}

// IncidentUpdate is a partial update. Nil fields are left alone; Nullable
// fields can also be cleared with an explicit null.
type IncidentUpdate struct {
	Title                  *string             `json:"title,omitempty"`
	Summary                *string             `json:"summary,omitempty"`
	Type                   *IncidentType       `json:"type,omitempty"`
	Severity               *Severity           `json:"severity,omitempty"`
	Category               *int                `json:"category,omitempty"`
	Significant            *bool               `json:"significant,omitempty"`
	TLP                    *TLP                `json:"tlp,omitempty"`
	PersonalData           *bool               `json:"personal_data,omitempty"`
	EssentialService       *bool               `json:"essential_service,omitempty"`
	DigitalServiceImpact   *bool               `json:"digital_service_impact,omitempty"`
	CrimeSuspected         *bool               `json:"crime_suspected,omitempty"`
	SignificantCyberThreat *bool               `json:"significant_cyber_threat,omitempty"`
	AffectedServices       *[]string           `json:"affected_services,omitempty"`
	LeadID                 Nullable[int64]     `json:"lead_id,omitzero"`
	Times                  IncidentTimesUpdate `json:"times,omitzero"`

	// Version is the version the change was based on; a different current
	// version makes the update fail with ECONFLICT.
	Version int `json:"version"`
}

// IncidentTimesUpdate corrects key times; null clears a time.
type IncidentTimesUpdate struct {
	OccurredAt   Nullable[time.Time] `json:"occurred_at,omitzero"`
	DetectedAt   Nullable[time.Time] `json:"detected_at,omitzero"`
	ReportedAt   Nullable[time.Time] `json:"reported_at,omitzero"`
	AwareAt      Nullable[time.Time] `json:"aware_at,omitzero"`
	ClassifiedAt Nullable[time.Time] `json:"classified_at,omitzero"`
	ContainedAt  Nullable[time.Time] `json:"contained_at,omitzero"`
	RecoveredAt  Nullable[time.Time] `json:"recovered_at,omitzero"`
	ClosedAt     Nullable[time.Time] `json:"closed_at,omitzero"`
}

func (u IncidentTimesUpdate) empty() bool {
	return !u.OccurredAt.Set && !u.DetectedAt.Set && !u.ReportedAt.Set && !u.AwareAt.Set && !u.ClassifiedAt.Set &&
		!u.ContainedAt.Set && !u.RecoveredAt.Set && !u.ClosedAt.Set
}

// IsZero lets omitzero leave out an empty times update.
func (u IncidentTimesUpdate) IsZero() bool { return u.empty() }

// Nullable is an update field that may be absent (leave alone), null
// (clear), or a value.
type Nullable[T any] struct {
	Set   bool // present in the input
	Valid bool // present and not null
	V     T
}

// Value returns a pointer to the value, or nil when null.
func (n Nullable[T]) Value() *T {
	if !n.Valid {
		return nil
	}
	v := n.V
	return &v
}

// NullableOf returns a Nullable that sets v.
func NullableOf[T any](v T) Nullable[T] { return Nullable[T]{Set: true, Valid: true, V: v} }

// Null returns a Nullable that clears the field.
func Null[T any]() Nullable[T] { return Nullable[T]{Set: true} }

// UnmarshalJSON records that the field was present, and whether it was null.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Valid = false
		var zero T
		n.V = zero
		return nil
	}
	if err := json.Unmarshal(b, &n.V); err != nil {
		return err
	}
	n.Valid = true
	return nil
}

// MarshalJSON writes the value or null.
func (n Nullable[T]) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(n.V)
}

// IsZero reports whether the field was absent, for omitzero.
func (n Nullable[T]) IsZero() bool { return !n.Set }

// Empty reports whether the update changes nothing.
func (u *IncidentUpdate) Empty() bool {
	return u.Title == nil && u.Summary == nil && u.Type == nil && u.Severity == nil && u.Category == nil &&
		u.Significant == nil && u.TLP == nil && u.PersonalData == nil && u.EssentialService == nil && u.DigitalServiceImpact == nil &&
		u.CrimeSuspected == nil && u.SignificantCyberThreat == nil && u.AffectedServices == nil && !u.LeadID.Set && u.Times.empty()
}

// Change is one field changed by an update, as recorded on the timeline and
// in the audit log.
type Change struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

// Apply applies upd to inc, validates the result and returns the changes it
// made, for the timeline. It does not check the version; the store does.
func (inc *Incident) Apply(upd IncidentUpdate) ([]Change, error) {
	var changes []Change
	set := func(field string, from, to any) {
		changes = append(changes, Change{Field: field, From: from, To: to})
	}
	if upd.Title != nil && strings.TrimSpace(*upd.Title) != inc.Title {
		set("title", inc.Title, strings.TrimSpace(*upd.Title))
		inc.Title = strings.TrimSpace(*upd.Title)
	}
	if upd.Summary != nil && strings.TrimSpace(*upd.Summary) != inc.Summary {
		set("summary", inc.Summary, strings.TrimSpace(*upd.Summary))
		inc.Summary = strings.TrimSpace(*upd.Summary)
	}
	if upd.Type != nil && *upd.Type != inc.Type {
		set("type", inc.Type, *upd.Type)
		inc.Type = *upd.Type
	}
	if upd.Severity != nil && *upd.Severity != inc.Severity {
		set("severity", inc.Severity, *upd.Severity)
		inc.Severity = *upd.Severity
	}
	if upd.Category != nil && *upd.Category != inc.Category {
		set("category", inc.Category, *upd.Category)
		inc.Category = *upd.Category
		if inc.Category >= MinCategory && inc.Category <= 3 && !inc.Significant && upd.Significant == nil {
			set("significant", false, true)
			inc.Significant = true
		}
	}
	if upd.Significant != nil && *upd.Significant != inc.Significant {
		set("significant", inc.Significant, *upd.Significant)
		inc.Significant = *upd.Significant
	}
	if upd.TLP != nil {
		next := *upd.TLP
		if t, ok := ParseTLP(string(next)); ok {
			next = t
		}
		if next != inc.TLP {
			set("tlp", inc.TLP, next)
			inc.TLP = next
		}
	}
	if upd.PersonalData != nil && *upd.PersonalData != inc.PersonalData {
		set("personal_data", inc.PersonalData, *upd.PersonalData)
		inc.PersonalData = *upd.PersonalData
	}
	if upd.EssentialService != nil && *upd.EssentialService != inc.EssentialService {
		set("essential_service", inc.EssentialService, *upd.EssentialService)
		inc.EssentialService = *upd.EssentialService
	}
	if upd.DigitalServiceImpact != nil && *upd.DigitalServiceImpact != inc.DigitalServiceImpact {
		set("digital_service_impact", inc.DigitalServiceImpact, *upd.DigitalServiceImpact)
		inc.DigitalServiceImpact = *upd.DigitalServiceImpact
	}
	if upd.CrimeSuspected != nil && *upd.CrimeSuspected != inc.CrimeSuspected {
		set("crime_suspected", inc.CrimeSuspected, *upd.CrimeSuspected)
		inc.CrimeSuspected = *upd.CrimeSuspected
	}
	if upd.SignificantCyberThreat != nil && *upd.SignificantCyberThreat != inc.SignificantCyberThreat {
		set("significant_cyber_threat", inc.SignificantCyberThreat, *upd.SignificantCyberThreat)
		inc.SignificantCyberThreat = *upd.SignificantCyberThreat
	}
	if upd.AffectedServices != nil {
		next := normalizeList(*upd.AffectedServices)
		if strings.Join(next, "\x00") != strings.Join(inc.AffectedServices, "\x00") {
			set("affected_services", inc.AffectedServices, next)
			inc.AffectedServices = next
		}
	}
	if upd.LeadID.Set && !equalPtr(inc.LeadID, upd.LeadID.Value()) {
		set("lead_id", inc.LeadID, upd.LeadID.Value())
		inc.LeadID = upd.LeadID.Value()
	}
	times := []struct {
		name string
		dst  **time.Time
		upd  Nullable[time.Time]
	}{
		{"occurred_at", &inc.Times.OccurredAt, upd.Times.OccurredAt},
		{"detected_at", &inc.Times.DetectedAt, upd.Times.DetectedAt},
		{"reported_at", &inc.Times.ReportedAt, upd.Times.ReportedAt},
		{"aware_at", &inc.Times.AwareAt, upd.Times.AwareAt},
		{"classified_at", &inc.Times.ClassifiedAt, upd.Times.ClassifiedAt},
		{"contained_at", &inc.Times.ContainedAt, upd.Times.ContainedAt},
		{"recovered_at", &inc.Times.RecoveredAt, upd.Times.RecoveredAt},
		{"closed_at", &inc.Times.ClosedAt, upd.Times.ClosedAt},
	}
	for _, t := range times {
		if !t.upd.Set {
			continue
		}
		next := t.upd.Value()
		if next != nil {
			v := TruncateTime(*next)
			next = &v
		}
		if !equalTime(*t.dst, next) {
			set("times."+t.name, *t.dst, next)
			*t.dst = next
		}
	}
	if err := inc.Validate(); err != nil {
		return nil, err
	}
	return changes, nil
}

// MarkClassified records now as the time the incident was classified as
// significant, the first time it is: DORA's 4-hour clock for the initial
// notification of a major incident starts there.
func (inc *Incident) MarkClassified(now time.Time) {
	if inc.Times.ClassifiedAt == nil && inc.Significant {
		t := TruncateTime(now)
		inc.Times.ClassifiedAt = &t
	}
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// TruncateTime returns t in UTC, truncated to the microsecond: the precision
// both stores keep, so that every time round-trips exactly.
func TruncateTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// IncidentFilter selects incidents for FindIncidents and CountIncidents.
// Empty slices match everything; several values in one slice match any.
type IncidentFilter struct {
	Status      []Status
	Severity    []Severity
	Type        []IncidentType
	Category    []int
	TLP         []TLP
	Source      []Source
	LeadID      *int64 // the assignee; see Unassigned
	Unassigned  bool   // only incidents without a lead
	MemberID    *int64 // incidents where this user is lead or has a role
	Significant *bool
	Exercise    *bool
	Open        *bool // true: not in a terminal status; false: terminal only
	// Organisation limits the list to these organisations (slugs); it
	// cannot widen what the actor may see.
	Organisation  []string
	Query         string // full-text query over the incident, its notes and observables
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	UpdatedAfter  *time.Time
	UpdatedBefore *time.Time
	OccurredAfter *time.Time
	// OccurredBefore bounds OccurredAt; incidents without one never match a bound.
	OccurredBefore *time.Time

	Sort   IncidentSort // default: newest created first; by rank when Query is set
	Cursor string       // from a previous page's NextCursor
	Limit  int          // default DefaultPageSize, at most MaxPageSize
}

// IncidentSort names a sort order. A leading "-" sorts descending.
type IncidentSort string

// The sort orders of incident lists.
const (
	SortCreatedDesc  IncidentSort = "-created_at"
	SortCreatedAsc   IncidentSort = "created_at"
	SortUpdatedDesc  IncidentSort = "-updated_at"
	SortUpdatedAsc   IncidentSort = "updated_at"
	SortSeverityDesc IncidentSort = "-severity"
	SortSeverityAsc  IncidentSort = "severity"
	SortRelevance    IncidentSort = "relevance" // only with a query
)

// IncidentSorts lists the sort orders.
var IncidentSorts = []IncidentSort{
	SortCreatedDesc, SortCreatedAsc, SortUpdatedDesc, SortUpdatedAsc, SortSeverityDesc, SortSeverityAsc, SortRelevance,
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Normalize fills defaults and checks the filter.
func (f *IncidentFilter) Normalize() error {
	var p Problems
	if f.Limit == 0 {
		f.Limit = DefaultPageSize
	}
	if f.Limit < 1 || f.Limit > MaxPageSize {
		p.Add("limit", "Limit must be between 1 and %d.", MaxPageSize)
	}
	f.Query = strings.TrimSpace(f.Query)
	if f.Sort == "" {
		f.Sort = SortCreatedDesc
		if f.Query != "" {
			f.Sort = SortRelevance
		}
	}
	if !inEnum(f.Sort, IncidentSorts) {
		p.Add("sort", "Unknown sort %q.", f.Sort)
	}
	if f.Sort == SortRelevance && f.Query == "" {
		p.Add("sort", "Sorting by relevance needs a search query.")
	}
	if len(f.Query) > MaxQueryLen {
		p.Add("q", "The search query must be at most %d bytes.", MaxQueryLen)
	}
	for i, o := range f.Organisation {
		f.Organisation[i] = strings.ToLower(strings.TrimSpace(o))
		if ValidSlug("organisation", f.Organisation[i]) != nil {
			p.Add("organisation", "%q is not an organisation's slug.", o)
		}
	}
	for i, s := range f.Status {
		s = s.Canonical()
		f.Status[i] = s
		if !inEnum(s, Statuses) {
			p.Add("status", "Unknown status %q.", s)
		}
	}
	for _, s := range f.Severity {
		if !inEnum(s, Severities) {
			p.Add("severity", "Unknown severity %q.", s)
		}
	}
	for _, s := range f.Type {
		if !inEnum(s, IncidentTypes) {
			p.Add("type", "Unknown incident type %q.", s)
		}
	}
	for _, c := range f.Category {
		if c < MinCategory || c > MaxCategory {
			p.Add("category", "NCSC category must be between %d and %d.", MinCategory, MaxCategory)
		}
	}
	for _, t := range f.TLP {
		if !t.Valid() {
			p.Add("tlp", "Unknown TLP label %q.", t)
		}
	}
	for _, s := range f.Source {
		if !inEnum(s, Sources) {
			p.Add("source", "Unknown source %q.", s)
		}
	}
	return p.Err()
}

// IncidentPage is one page of a list.
type IncidentPage struct {
	Items      []*Incident      `json:"items"`
	Snippets   map[int64]string `json:"snippets,omitempty"` // with a query: best highlighted snippet per incident ID
	NextCursor string           `json:"next_cursor,omitempty"`
}

// IncidentCounts are open-incident numbers for the dashboard.
type IncidentCounts struct {
	Total      int              `json:"total"`
	ByStatus   map[Status]int   `json:"by_status"`
	BySeverity map[Severity]int `json:"by_severity"`
}

// IncidentService manages incidents, their lifecycle, members and links.
// Every method reads the actor from ctx and applies VisibilityFor and Can.
type IncidentService interface {
	// FindIncidentByID returns ENOTFOUND if there is no such incident or the
	// actor may not see it.
	FindIncidentByID(ctx context.Context, id int64) (*Incident, error)
	// FindIncidentByReference is FindIncidentByID for a reference like INC-2026-000123.
	FindIncidentByReference(ctx context.Context, ref string) (*Incident, error)
	// FindIncidents returns a page of the incidents the actor may see.
	FindIncidents(ctx context.Context, f IncidentFilter) (*IncidentPage, error)
	// CountIncidents counts the incidents matching f (Cursor, Limit and Sort are ignored).
	CountIncidents(ctx context.Context, f IncidentFilter) (int, error)
	// CreateIncident validates inc, gives it a reference and writes it with
	// its first timeline entry. EINVALID, EFORBIDDEN.
	CreateIncident(ctx context.Context, inc *Incident) error
	// UpdateIncident applies upd. ECONFLICT if upd.Version is stale,
	// EINVALID, EFORBIDDEN, ENOTFOUND.
	UpdateIncident(ctx context.Context, id int64, upd IncidentUpdate) (*Incident, error)
	// TransitionIncident moves the incident to another status under the
	// lifecycle rules. ECONFLICT, EINVALID, EFORBIDDEN, ENOTFOUND.
	TransitionIncident(ctx context.Context, id int64, t Transition) (*Incident, error)
}
