package vigil

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An Advisory is the coordinator's word to its members: an alert (urgent,
// act now) or an advisory, about an issue it has seen or been told of —
// what is affected, what to do, how to detect it, the indicators to look
// for. It is drafted, reviewed and published by the coordinator's
// managers and admins, versioned by publication, and read by the member
// organisations it is addressed to, at their clearance, which answer
// whether they are affected (docs/advisories.md).
type Advisory struct {
	ID int64 `json:"-"`
	// UUID names the advisory for good outside Vigil: the Atom entry's id
	// (urn:uuid:…) and, later, the STIX report's.
	UUID      string         `json:"uuid"`
	Reference string         `json:"reference"` // ADV-2026-0001, unique and never reused
	Title     string         `json:"title"`
	Kind      AdvisoryKind   `json:"kind"`
	Severity  Severity       `json:"severity"`
	TLP       TLP            `json:"tlp"`
	Summary   string         `json:"summary"`
	Affected  Affected       `json:"affected"`
	Actions   string         `json:"actions"`   // what to do
	Detection string         `json:"detection"` // how to tell whether you are affected
	IOCs      []AdvisoryIOC  `json:"iocs"`
	Refs      []string       `json:"references"` // URLs: vendor notices, CVE records, write-ups
	Audience  Audience       `json:"audience"`
	Status    AdvisoryStatus `json:"status"`
	// Revision counts the publications: 1 at the first, one more at each
	// update and at withdrawal; 0 while it has never been published.
	Revision int `json:"revision"`
	// SourceIncident is the incident it was drafted from, shown to the
	// coordinator's staff who may see that incident, to no one else.
	SourceIncident *IncidentRef `json:"source_incident,omitempty"`
	CreatedBy      string       `json:"created_by,omitempty"` // the coordinator's staff only
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	PublishedAt    *time.Time   `json:"published_at"` // the first publication
	WithdrawnAt    *time.Time   `json:"withdrawn_at"`
	Version        int          `json:"version"` // bumped on every change; stale versions get ECONFLICT
	// History lists the publications, oldest first, each with its change
	// note.
	History []AdvisoryRevision `json:"history"`
}

// AdvisoryKind says how urgent an advisory is.
type AdvisoryKind string

// The kinds.
const (
	AdvisoryKindAlert    AdvisoryKind = "alert"    // urgent: act now
	AdvisoryKindAdvisory AdvisoryKind = "advisory" // guidance to act on in the normal course
)

// AdvisoryKinds lists the kinds.
var AdvisoryKinds = []AdvisoryKind{AdvisoryKindAlert, AdvisoryKindAdvisory}

// Valid reports whether k is a known kind.
func (k AdvisoryKind) Valid() bool { return inEnum(k, AdvisoryKinds) }

// AdvisoryStatus is where an advisory is in its life.
type AdvisoryStatus string

// The statuses, in the order an advisory moves through them.
const (
	AdvisoryDraft     AdvisoryStatus = "draft"
	AdvisoryInReview  AdvisoryStatus = "in_review"
	AdvisoryPublished AdvisoryStatus = "published"
	AdvisoryUpdated   AdvisoryStatus = "updated"   // published, and changed since, each change with its note
	AdvisoryWithdrawn AdvisoryStatus = "withdrawn" // stays readable as withdrawn; never deleted
)

// AdvisoryStatuses lists the statuses.
var AdvisoryStatuses = []AdvisoryStatus{AdvisoryDraft, AdvisoryInReview, AdvisoryPublished, AdvisoryUpdated, AdvisoryWithdrawn}

// Valid reports whether s is a known status.
func (s AdvisoryStatus) Valid() bool { return inEnum(s, AdvisoryStatuses) }

// Published reports whether members may see an advisory in status s (if
// it is addressed to them, at their clearance): once published, for good,
// withdrawn included.
func (s AdvisoryStatus) Published() bool {
	return s == AdvisoryPublished || s == AdvisoryUpdated || s == AdvisoryWithdrawn
}

// advisoryMoves are the allowed moves between statuses. Publishing
// (in_review to published) goes through Publish; an update (published or
// updated to updated) happens when a published advisory is changed with a
// change note; the rest are asked for with a status in an update.
var advisoryMoves = map[AdvisoryStatus][]AdvisoryStatus{
	AdvisoryDraft:     {AdvisoryInReview},
	AdvisoryInReview:  {AdvisoryDraft, AdvisoryPublished},
	AdvisoryPublished: {AdvisoryUpdated, AdvisoryWithdrawn},
	AdvisoryUpdated:   {AdvisoryUpdated, AdvisoryWithdrawn},
	AdvisoryWithdrawn: {},
}

// CanMoveAdvisory reports whether an advisory may move from one status to
// another.
func CanMoveAdvisory(from, to AdvisoryStatus) bool { return slices.Contains(advisoryMoves[from], to) }

// Affected says what an advisory is about: products and versions in words,
// and CPE names and CVE ids where they are known.
type Affected struct {
	Products []string `json:"products"` // "Exchange Server 2019 CU12 and earlier"
	CPEs     []string `json:"cpes"`     // CPE 2.3 formatted strings (or 2.2 URIs)
	CVEs     []string `json:"cves"`     // CVE-2026-12345
}

// AdvisoryIOC is an indicator of compromise in an advisory: a typed
// observable, normalised as an incident's are, with its own TLP, which may
// not be above the advisory's.
type AdvisoryIOC struct {
	Type        ObservableType `json:"type"`
	Value       string         `json:"value"`
	TLP         TLP            `json:"tlp"` // default: the advisory's
	Description string         `json:"description"`
}

// Audience says which member organisations an advisory is for.
type Audience struct {
	Kind   AudienceKind `json:"kind"`
	Sector string       `json:"sector,omitempty"` // for kind sector: members whose sector is this (any case)
	// Members are the slugs of the members it is for (kind members). A
	// member reading the advisory does not see the list.
	Members []string `json:"members,omitempty"`
}

// AudienceKind is how an audience is chosen.
type AudienceKind string

// The audience kinds.
const (
	AudienceAll     AudienceKind = "all"     // every member organisation
	AudienceSector  AudienceKind = "sector"  // the members of one sector
	AudienceMembers AudienceKind = "members" // the members named
)

// AudienceKinds lists the audience kinds.
var AudienceKinds = []AudienceKind{AudienceAll, AudienceSector, AudienceMembers}

// Includes reports whether the audience takes in the member organisation
// o: by kind, by its sector (compared without case or surrounding space),
// or by its slug. The coordinator is no member of any audience.
func (au Audience) Includes(o *Organisation) bool {
	if o == nil || o.Kind != OrgMember {
		return false
	}
	switch au.Kind {
	case AudienceAll:
		return true
	case AudienceSector:
		s := NormalizeSector(o.Sector)
		return s != "" && s == NormalizeSector(au.Sector)
	case AudienceMembers:
		return slices.Contains(au.Members, o.Slug)
	}
	return false
}

// NormalizeSector is the form sectors are compared in.
func NormalizeSector(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// AdvisoryRevision is one publication of an advisory: the first, an
// update or the withdrawal, with the note that says what changed.
type AdvisoryRevision struct {
	Revision    int            `json:"revision"`
	Status      AdvisoryStatus `json:"status"` // published, updated or withdrawn
	ChangeNote  string         `json:"change_note"`
	PublishedBy string         `json:"published_by,omitempty"` // the coordinator's staff only
	PublishedAt time.Time      `json:"published_at"`
}

// AdvisoryUpdate changes an advisory. Nil fields are left alone. A draft
// or one in review changes freely; a published one only with a change
// note, which publishes the change at once as an update (status updated)
// for the members to see. Status moves a draft to review and back, or
// withdraws a published advisory (with a change note saying why);
// publishing is Publish's.
type AdvisoryUpdate struct {
	Title      *string         `json:"title,omitempty"`
	Kind       *AdvisoryKind   `json:"kind,omitempty"`
	Severity   *Severity       `json:"severity,omitempty"`
	TLP        *TLP            `json:"tlp,omitempty"`
	Summary    *string         `json:"summary,omitempty"`
	Affected   *Affected       `json:"affected,omitempty"`
	Actions    *string         `json:"actions,omitempty"`
	Detection  *string         `json:"detection,omitempty"`
	IOCs       *[]AdvisoryIOC  `json:"iocs,omitempty"`
	Refs       *[]string       `json:"references,omitempty"`
	Audience   *Audience       `json:"audience,omitempty"`
	Status     *AdvisoryStatus `json:"status,omitempty"` // in_review, draft or withdrawn
	ChangeNote string          `json:"change_note,omitempty"`
	Version    int             `json:"version"`
}

// AdvisoryPublish publishes an advisory that is in review.
type AdvisoryPublish struct {
	ChangeNote string `json:"change_note,omitempty"` // default "First published."
	Version    int    `json:"version"`
}

// AdvisoryFromIncident drafts an advisory from an incident: its title
// (unless another is given) and, only if asked, its summary and the
// observables named. Nothing else of the incident is copied.
type AdvisoryFromIncident struct {
	Title          string `json:"title,omitempty"`
	IncludeSummary bool   `json:"include_summary,omitempty"`
	// Observables are the IDs of the incident's observables to offer as
	// IOCs, with their type, value and TLP (not their description,
	// which is the incident's own notes).
	Observables []int64      `json:"observables,omitempty"`
	Kind        AdvisoryKind `json:"kind,omitempty"`
	Severity    Severity     `json:"severity,omitempty"` // default: the incident's
	TLP         TLP          `json:"tlp,omitempty"`      // default: the highest of the incident's and the IOCs', AMBER+STRICT at most
	Audience    Audience     `json:"audience"`
}

// AdvisoryResponseStatus is a member's answer to an advisory.
type AdvisoryResponseStatus string

// The answers.
const (
	ResponseAffected      AdvisoryResponseStatus = "affected"
	ResponseNotAffected   AdvisoryResponseStatus = "not_affected"
	ResponseInvestigating AdvisoryResponseStatus = "investigating"
	ResponseMitigated     AdvisoryResponseStatus = "mitigated"
)

// AdvisoryResponseStatuses lists the answers.
var AdvisoryResponseStatuses = []AdvisoryResponseStatus{ResponseAffected, ResponseNotAffected, ResponseInvestigating, ResponseMitigated}

// Valid reports whether s is a known answer.
func (s AdvisoryResponseStatus) Valid() bool { return inEnum(s, AdvisoryResponseStatuses) }

// AdvisoryResponseInput is a member's answer to an advisory.
type AdvisoryResponseInput struct {
	Status AdvisoryResponseStatus `json:"status"`
	Note   string                 `json:"note"`
	// Organisation is the slug of the member answering; needed only by
	// someone who belongs to several members the advisory is for.
	Organisation string `json:"organisation,omitempty"`
}

// MaxResponseNote bounds an answer's note.
const MaxResponseNote = 5000

// Prepare checks r.
func (r *AdvisoryResponseInput) Prepare() error {
	var p Problems
	if !r.Status.Valid() {
		p.Add("status", "Answer affected, not_affected, investigating or mitigated.")
	}
	r.Note = strings.TrimSpace(r.Note)
	if utf8.RuneCountInString(r.Note) > MaxResponseNote || !utf8.ValidString(r.Note) {
		p.Add("note", "The note must be text of at most %d characters.", MaxResponseNote)
	}
	r.Organisation = strings.ToLower(strings.TrimSpace(r.Organisation))
	return p.Err()
}

// AdvisoryResponse is one answer of a member organisation to an advisory;
// its latest answer is the one that counts.
type AdvisoryResponse struct {
	ID               int64                  `json:"id"`
	Advisory         string                 `json:"advisory"`     // the reference
	Organisation     string                 `json:"organisation"` // the slug
	OrganisationName string                 `json:"organisation_name"`
	Status           AdvisoryResponseStatus `json:"status"`
	Note             string                 `json:"note"`
	RespondedBy      string                 `json:"responded_by"`
	RespondedAt      time.Time              `json:"responded_at"`
}

// AdvisoryResponseRow is one member organisation in the coordinator's
// table of answers: its latest answer, or none yet (Status "").
type AdvisoryResponseRow struct {
	Organisation     string                 `json:"organisation"`
	OrganisationName string                 `json:"organisation_name"`
	Sector           string                 `json:"sector"`
	Status           AdvisoryResponseStatus `json:"status"` // "" if it has not answered
	Note             string                 `json:"note"`
	RespondedBy      string                 `json:"responded_by"`
	RespondedAt      *time.Time             `json:"responded_at"`
}

// AdvisoryResponses is what the answers to an advisory look like to the
// reader: for the coordinator's staff, every member the advisory is for
// with its latest answer (or none), counted by answer, and the silent
// ones; for a member, its own answers, newest first.
type AdvisoryResponses struct {
	Advisory string                 `json:"advisory"`
	Table    []*AdvisoryResponseRow `json:"table,omitempty"`
	Counts   map[string]int         `json:"counts,omitempty"` // by answer, and "none"
	Silent   []string               `json:"silent,omitempty"` // slugs of the members that have not answered
	Answers  []*AdvisoryResponse    `json:"answers"`
}

// AdvisoryFilter selects advisories for FindAdvisories, newest change
// first. Empty slices match everything.
type AdvisoryFilter struct {
	Status   []AdvisoryStatus
	Kind     []AdvisoryKind
	Severity []Severity
	// Feed keeps only what a feed may carry: published (or updated or
	// withdrawn) advisories, never TLP:RED ones, whoever reads.
	Feed          bool
	Limit, Offset int
}

// Limits on advisories.
const (
	MaxAdvisoryText      = 20000 // summary, actions, detection
	MaxAdvisoryIOCs      = 1000
	MaxAdvisoryRefs      = 50
	MaxAdvisoryRefLen    = 2000
	MaxAffectedItems     = 100
	MaxChangeNote        = 2000
	MaxAudienceMembers   = 1000
	advisoryCounterName  = "advisory"
	defaultPublishedNote = "First published."
)

// FormatAdvisoryReference returns the reference of the n-th advisory of a
// year: ADV-2026-0001 (more digits past 9999).
func FormatAdvisoryReference(year int, n int64) string { return fmt.Sprintf("ADV-%04d-%04d", year, n) }

// AdvisoryCounter names the counter that numbers the advisories of year.
func AdvisoryCounter(year int) string { return advisoryCounterName + ":" + strconv.Itoa(year) }

var (
	advisoryRefRE = regexp.MustCompile(`^ADV-\d{4}-\d{4,}$`)
	cveRE         = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	cpe22RE       = regexp.MustCompile(`^cpe:/[aho](:[a-z0-9._~%!-]*){0,6}$`)
)

// IsAdvisoryReference reports whether s looks like an advisory reference.
func IsAdvisoryReference(s string) bool { return advisoryRefRE.MatchString(strings.ToUpper(s)) }

// NormalizeCVE checks a CVE id and returns it in upper case.
func NormalizeCVE(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, cveRE.MatchString(s)
}

// NormalizeCPE checks a CPE name — a CPE 2.3 formatted string
// (cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:
// target_sw:target_hw:other) or a CPE 2.2 URI (cpe:/a:vendor:product…) —
// and returns it in lower case, as the NVD writes them.
func NormalizeCPE(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "cpe:/") {
		return s, cpe22RE.MatchString(s)
	}
	if !strings.HasPrefix(s, "cpe:2.3:") || len(s) > 1000 {
		return s, false
	}
	// Split on colons that are not escaped with a backslash.
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == ':':
			parts = append(parts, cur.String())
			cur.Reset()
		case c <= ' ' || c > '~':
			return s, false
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) != 13 || !strings.Contains("aho*-", parts[2]) || len(parts[2]) != 1 {
		return s, false
	}
	for _, p := range parts[3:] {
		if p == "" {
			return s, false
		}
	}
	return s, true
}

// Prepare trims and normalises the advisory for saving as a draft and
// checks every field, reporting all the problems at once. A draft may be
// incomplete (only the title is required); ReadyToPublish asks for the
// rest.
func (a *Advisory) Prepare() error {
	var p Problems
	a.Title = strings.TrimSpace(a.Title)
	switch n := utf8.RuneCountInString(a.Title); {
	case n == 0:
		p.Add("title", "Give the advisory a title.")
	case n > MaxTitleLen || !utf8.ValidString(a.Title) || hasControlChar(a.Title):
		p.Add("title", "The title must be plain text of at most %d characters.", MaxTitleLen)
	}
	if a.Kind == "" {
		a.Kind = AdvisoryKindAdvisory
	}
	if !a.Kind.Valid() {
		p.Add("kind", "Kind must be alert or advisory.")
	}
	if a.Severity == "" {
		a.Severity = SeverityMedium
	}
	if a.Severity.Rank() == 0 {
		p.Add("severity", "Severity must be low, medium, high or critical.")
	}
	if a.TLP == "" {
		a.TLP = TLPAmber
	} else if t, ok := ParseTLP(string(a.TLP)); ok {
		a.TLP = t
	}
	if !a.TLP.Valid() {
		p.Add("tlp", "Unknown TLP label %q.", a.TLP)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"summary", &a.Summary}, {"actions", &a.Actions}, {"detection", &a.Detection}} {
		*f.v = strings.TrimSpace(*f.v)
		if utf8.RuneCountInString(*f.v) > MaxAdvisoryText || !utf8.ValidString(*f.v) {
			p.Add(f.name, "Must be text of at most %d characters.", MaxAdvisoryText)
		}
	}
	a.prepareAffected(&p)
	a.prepareIOCs(&p)
	a.prepareRefs(&p)
	a.Audience.prepare(&p)
	return p.Err()
}

func (a *Advisory) prepareAffected(p *Problems) {
	af := &a.Affected
	af.Products = cleanList(af.Products)
	if len(af.Products) > MaxAffectedItems {
		p.Add("affected.products", "At most %d products.", MaxAffectedItems)
	}
	for i, s := range af.Products {
		if utf8.RuneCountInString(s) > MaxAffectedLen || hasControlChar(s) {
			p.Add(fmt.Sprintf("affected.products[%d]", i), "A product must be plain text of at most %d characters.", MaxAffectedLen)
		}
	}
	af.CPEs = cleanList(af.CPEs)
	if len(af.CPEs) > MaxAffectedItems {
		p.Add("affected.cpes", "At most %d CPE names.", MaxAffectedItems)
	}
	for i, s := range af.CPEs {
		n, ok := NormalizeCPE(s)
		if !ok {
			p.Add(fmt.Sprintf("affected.cpes[%d]", i), "Not a CPE name: write a CPE 2.3 formatted string (cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:*) or a CPE 2.2 URI (cpe:/a:vendor:product:version).")
		}
		af.CPEs[i] = n
	}
	af.CVEs = cleanList(af.CVEs)
	if len(af.CVEs) > MaxAffectedItems {
		p.Add("affected.cves", "At most %d CVE ids.", MaxAffectedItems)
	}
	for i, s := range af.CVEs {
		n, ok := NormalizeCVE(s)
		if !ok {
			p.Add(fmt.Sprintf("affected.cves[%d]", i), "Not a CVE id: write CVE-YYYY-NNNN (four or more digits).")
		}
		af.CVEs[i] = n
	}
	af.CVEs = dedupe(af.CVEs)
	af.CPEs = dedupe(af.CPEs)
}

// prepareIOCs normalises each IOC with the observables' rules and refuses
// one above the advisory's TLP: it would reach readers who are cleared
// for the advisory but not for it.
func (a *Advisory) prepareIOCs(p *Problems) {
	if a.IOCs == nil {
		a.IOCs = []AdvisoryIOC{}
	}
	if len(a.IOCs) > MaxAdvisoryIOCs {
		p.Add("iocs", "At most %d IOCs.", MaxAdvisoryIOCs)
		return
	}
	seen := map[string]bool{}
	out := a.IOCs[:0]
	for i, c := range a.IOCs {
		field := fmt.Sprintf("iocs[%d].", i)
		o := Observable{Type: c.Type, Value: c.Value, TLP: c.TLP, Description: c.Description}
		if o.TLP == "" && a.TLP.Valid() {
			o.TLP = a.TLP
		}
		if err := o.Prepare(field); err != nil {
			*p = append(*p, ErrorFields(err)...)
			continue
		}
		if a.TLP.Valid() && o.TLP.Rank() > a.TLP.Rank() {
			p.Add(field+"tlp", "This IOC is TLP:%s, above the advisory's TLP:%s: everyone cleared for the advisory would read it. Lower the IOC's TLP, raise the advisory's, or leave the IOC out.", o.TLP, a.TLP)
			continue
		}
		k := string(o.Type) + "\x00" + o.Value
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, AdvisoryIOC{Type: o.Type, Value: o.Value, TLP: o.TLP, Description: o.Description})
	}
	a.IOCs = out
}

func (a *Advisory) prepareRefs(p *Problems) {
	a.Refs = cleanList(a.Refs)
	if len(a.Refs) > MaxAdvisoryRefs {
		p.Add("references", "At most %d references.", MaxAdvisoryRefs)
	}
	for i, s := range a.Refs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > MaxAdvisoryRefLen || hasControlChar(s) || strings.ContainsAny(s, " \t") {
			p.Add(fmt.Sprintf("references[%d]", i), "A reference is an http or https URL of at most %d characters.", MaxAdvisoryRefLen)
		}
	}
	a.Refs = dedupe(a.Refs)
}

func (au *Audience) prepare(p *Problems) {
	if au.Kind == "" {
		au.Kind = AudienceAll
	}
	au.Sector = strings.Join(strings.Fields(au.Sector), " ")
	au.Members = cleanList(au.Members)
	for i := range au.Members {
		au.Members[i] = strings.ToLower(au.Members[i])
	}
	au.Members = dedupe(au.Members)
	switch au.Kind {
	case AudienceAll:
		au.Sector, au.Members = "", nil
	case AudienceSector:
		au.Members = nil
		if au.Sector == "" || utf8.RuneCountInString(au.Sector) > MaxOrgSector || hasControlChar(au.Sector) {
			p.Add("audience.sector", "Name the sector (at most %d characters).", MaxOrgSector)
		}
	case AudienceMembers:
		au.Sector = ""
		if len(au.Members) == 0 || len(au.Members) > MaxAudienceMembers {
			p.Add("audience.members", "Name the members it is for by their slugs (1 to %d).", MaxAudienceMembers)
		}
		for i, s := range au.Members {
			if err := ValidSlug("", s); err != nil {
				p.Add(fmt.Sprintf("audience.members[%d]", i), "%q is not an organisation's slug.", s)
			}
		}
	default:
		p.Add("audience.kind", "The audience is all (every member), sector or members.")
	}
}

// ReadyToPublish checks what a published advisory must have, beyond what
// a draft must: a summary, what to do, and (for an alert) a severity of
// its own. Members read it without anyone to ask.
func (a *Advisory) ReadyToPublish() error {
	if err := a.Prepare(); err != nil {
		return err
	}
	var p Problems
	if a.Summary == "" {
		p.Add("summary", "A published advisory needs a summary: what the issue is.")
	}
	if a.Actions == "" {
		p.Add("actions", "A published advisory needs actions: what members should do.")
	}
	if a.TLP == TLPRed && a.Audience.Kind != AudienceMembers {
		p.Add("tlp", "A TLP:RED advisory is for named recipients only: address it to a list of members (and know that members do not see TLP:RED advisories in lists or feeds yet).")
	}
	return p.Err()
}

// Apply makes upd's changes to a, at now. It returns the publication the
// change makes — an update of a published advisory, or its withdrawal —
// or nil when the change is not published (a draft's, a move to review).
// The caller checks upd.Version.
func (a *Advisory) Apply(upd AdvisoryUpdate, now time.Time, by string) (*AdvisoryRevision, error) {
	if a.Status == AdvisoryWithdrawn {
		return nil, Invalid("status", "A withdrawn advisory stays as it was withdrawn; write a new one.")
	}
	before := *a
	changed := false
	set := func(dst *string, v *string) {
		if v != nil && strings.TrimSpace(*v) != *dst {
			*dst, changed = *v, true
		}
	}
	set(&a.Title, upd.Title)
	set(&a.Summary, upd.Summary)
	set(&a.Actions, upd.Actions)
	set(&a.Detection, upd.Detection)
	if upd.Kind != nil && *upd.Kind != a.Kind {
		a.Kind, changed = *upd.Kind, true
	}
	if upd.Severity != nil && *upd.Severity != a.Severity {
		a.Severity, changed = *upd.Severity, true
	}
	if upd.TLP != nil && *upd.TLP != a.TLP {
		a.TLP, changed = *upd.TLP, true
	}
	if upd.Affected != nil {
		a.Affected, changed = *upd.Affected, true
	}
	if upd.IOCs != nil {
		a.IOCs, changed = slices.Clone(*upd.IOCs), true
	}
	if upd.Refs != nil {
		a.Refs, changed = slices.Clone(*upd.Refs), true
	}
	if upd.Audience != nil {
		a.Audience, changed = *upd.Audience, true
	}
	note := strings.TrimSpace(upd.ChangeNote)
	if utf8.RuneCountInString(note) > MaxChangeNote || !utf8.ValidString(note) {
		return nil, Invalid("change_note", "The change note must be text of at most %d characters.", MaxChangeNote)
	}
	to := a.Status
	if upd.Status != nil {
		to = *upd.Status
	}
	published := a.Status.Published()
	switch {
	case to == a.Status:
	case !to.Valid():
		return nil, Invalid("status", "Unknown status %q.", to)
	case to == AdvisoryPublished:
		return nil, Invalid("status", "Publish it with POST /api/v1/advisories/%s/publish.", a.Reference)
	case to == AdvisoryUpdated:
		return nil, Invalid("status", "An update is published by changing the published advisory with a change_note.")
	case !CanMoveAdvisory(a.Status, to):
		return nil, Invalid("status", "An advisory that is %s cannot become %s.", a.Status, to)
	}
	if to == AdvisoryWithdrawn {
		if changed {
			return nil, Invalid("status", "Withdraw an advisory without changing it: members keep reading what was withdrawn.")
		}
		if note == "" {
			return nil, Invalid("change_note", "Say why the advisory is withdrawn: members read it.")
		}
		a.Status = AdvisoryWithdrawn
		a.Revision++
		a.WithdrawnAt = &now
		a.UpdatedAt = now
		return &AdvisoryRevision{Revision: a.Revision, Status: AdvisoryWithdrawn, ChangeNote: note, PublishedBy: by, PublishedAt: now}, nil
	}
	if published {
		if !changed {
			*a = before
			return nil, nil
		}
		if note == "" {
			return nil, Invalid("change_note", "Say what changed: members read the note with the update.")
		}
		if err := a.ReadyToPublish(); err != nil {
			return nil, err
		}
		a.Status = AdvisoryUpdated
		a.Revision++
		a.UpdatedAt = now
		return &AdvisoryRevision{Revision: a.Revision, Status: AdvisoryUpdated, ChangeNote: note, PublishedBy: by, PublishedAt: now}, nil
	}
	a.Status = to
	if err := a.Prepare(); err != nil {
		return nil, err
	}
	if to == AdvisoryInReview {
		// Review is of something that could be published.
		if err := a.ReadyToPublish(); err != nil {
			return nil, err
		}
	}
	a.UpdatedAt = now
	return nil, nil
}

// Publish publishes an advisory that is in review, as its first revision.
func (a *Advisory) Publish(note string, now time.Time, by string) (*AdvisoryRevision, error) {
	switch a.Status {
	case AdvisoryInReview:
	case AdvisoryDraft:
		return nil, Invalid("status", "Send the draft for review first (status in_review): an advisory is checked before members read it.")
	default:
		return nil, Invalid("status", "This advisory is already %s; change it with a change_note to publish an update.", a.Status)
	}
	note = strings.TrimSpace(note)
	if note == "" {
		note = defaultPublishedNote
	}
	if utf8.RuneCountInString(note) > MaxChangeNote || !utf8.ValidString(note) {
		return nil, Invalid("change_note", "The change note must be text of at most %d characters.", MaxChangeNote)
	}
	if err := a.ReadyToPublish(); err != nil {
		return nil, err
	}
	a.Status = AdvisoryPublished
	a.Revision = 1
	a.PublishedAt = &now
	a.UpdatedAt = now
	return &AdvisoryRevision{Revision: 1, Status: AdvisoryPublished, ChangeNote: note, PublishedBy: by, PublishedAt: now}, nil
}

// ForMember clears what a member organisation's reader does not see: who
// wrote and published it, the incident it came from, and which other
// members it is addressed to.
func (a *Advisory) ForMember() {
	a.CreatedBy = ""
	a.SourceIncident = nil
	a.Audience.Members = nil
	for i := range a.History {
		a.History[i].PublishedBy = ""
	}
}

// AdvisoryClearance is the highest TLP a member organisation's user with
// role r reads in advisories. TLP:CLEAR and GREEN are for the community,
// so for anyone in the organisation, reporters too; AMBER and
// AMBER+STRICT are for those who need to know inside it, which in Vigil
// are those who handle its incidents (viewer and up). TLP:RED is for
// named people, and no role is that: members see no TLP:RED advisory in
// lists and feeds (docs/advisories.md).
func AdvisoryClearance(r Role) TLP {
	switch r {
	case RoleAdmin, RoleManager, RoleResponder, RoleViewer:
		return TLPAmberStrict
	case RoleReporter:
		return TLPGreen
	}
	return ""
}

// AdvisoryAccess says which advisories an actor may see. Each store turns
// it into one SQL clause; CanSee is the same rule in Go.
type AdvisoryAccess struct {
	None bool
	// Staff: the coordinator's staff (a role but reporter in the default
	// organisation) and the system see every advisory, drafts included.
	Staff bool
	// Members are the member organisations the actor belongs to, with
	// their clearance there.
	Members []MemberClearance
}

// MemberClearance is an actor's clearance in one member organisation.
type MemberClearance struct {
	OrgID     int64
	Clearance TLP
}

// AdvisoryAccessFor returns the advisory access of actor.
func AdvisoryAccessFor(a *Actor) AdvisoryAccess {
	if a == nil || !a.Can(PermAdvisoryRead) {
		return AdvisoryAccess{None: true}
	}
	if a.System {
		return AdvisoryAccess{Staff: true}
	}
	var acc AdvisoryAccess
	for _, m := range a.Memberships() {
		if !a.CanIn(m.ID, PermAdvisoryRead) {
			continue
		}
		if m.ID == DefaultOrganisationID {
			acc.Staff = acc.Staff || m.Role != RoleReporter
			continue
		}
		if c := AdvisoryClearance(m.Role); c != "" {
			acc.Members = append(acc.Members, MemberClearance{OrgID: m.ID, Clearance: c})
		}
	}
	if !acc.Staff && len(acc.Members) == 0 {
		return AdvisoryAccess{None: true}
	}
	return acc
}

// CanSee applies acc to one advisory. orgs are the member organisations
// the actor belongs to, by ID (for their kind, sector and slug).
func (acc AdvisoryAccess) CanSee(a *Advisory, orgs map[int64]*Organisation) bool {
	switch {
	case acc.None:
		return false
	case acc.Staff:
		return true
	case !a.Status.Published() || a.TLP == TLPRed:
		return false
	}
	for _, m := range acc.Members {
		if a.TLP.Rank() <= m.Clearance.Rank() && a.Audience.Includes(orgs[m.OrgID]) {
			return true
		}
	}
	return false
}

// AdvisoryService keeps the advisories and the members' answers.
// Drafting, changing, reviewing and publishing need PermAdvisoryIssue (the
// coordinator's managers and admins); the coordinator's staff read every
// advisory; a member's users read the published ones addressed to their
// organisation at their clearance (AdvisoryAccessFor); anyone else gets
// ENOTFOUND, as for a reference that does not exist.
type AdvisoryService interface {
	// CreateAdvisory saves a new draft and gives it its reference.
	CreateAdvisory(ctx context.Context, a *Advisory) error
	// DraftAdvisoryFromIncident saves a draft made from an incident the
	// actor may see (ENOTFOUND otherwise), copying only what d chooses.
	DraftAdvisoryFromIncident(ctx context.Context, incidentID int64, d AdvisoryFromIncident) (*Advisory, error)
	FindAdvisory(ctx context.Context, ref string) (*Advisory, error)
	FindAdvisories(ctx context.Context, f AdvisoryFilter) ([]*Advisory, int, error)
	// UpdateAdvisory returns ECONFLICT if upd.Version is not the current
	// version.
	UpdateAdvisory(ctx context.Context, ref string, upd AdvisoryUpdate) (*Advisory, error)
	PublishAdvisory(ctx context.Context, ref string, p AdvisoryPublish) (*Advisory, error)
	// RespondToAdvisory records a member's answer: PermAdvisoryRespond in
	// a member organisation the advisory is for.
	RespondToAdvisory(ctx context.Context, ref string, r AdvisoryResponseInput) (*AdvisoryResponse, error)
	FindAdvisoryResponses(ctx context.Context, ref string) (*AdvisoryResponses, error)
}

// cleanList trims each string and drops the empty ones.
func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// dedupe drops repeats, keeping the first of each.
func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
