package vigil

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// OrgProfile is what the organisation is under each reporting regime; the
// duty packs read it. Admins keep it in the settings.
type OrgProfile struct {
	Name          string   `json:"name"`
	Jurisdictions []string `json:"jurisdictions"` // "UK", "UK-SCT" (Scotland), EU member state codes
	Timezone      string   `json:"timezone"`      // IANA zone; default Europe/London
	UKGDPR        bool     `json:"uk_gdpr_controller"`
	// UKGDPRProcessor says the organisation processes personal data on
	// behalf of controllers (some or all of it): a breach of that data is
	// reported to the controller without undue delay (UK GDPR Art. 33(2)).
	UKGDPRProcessor bool `json:"uk_gdpr_processor"`
	NISOES          bool `json:"nis_oes"`  // UK NIS Regulations 2018: operator of essential services
	NISRDSP         bool `json:"nis_rdsp"` // … relevant digital service provider
	// NISRMSP says the organisation is a relevant managed service
	// provider, a kind of regulated entity the Cyber Security and
	// Resilience Bill would add to the NIS Regulations.
	NISRMSP bool `json:"nis_rmsp"`
	// UKCSRBill switches on the uk-csr-bill pack: the incident reporting
	// the Cyber Security and Resilience Bill would bring in, for an
	// organisation that chooses to follow it before it is law. Off by
	// default.
	UKCSRBill bool   `json:"uk_csr_bill"`
	NIS2      string `json:"nis2"` // "", "essential" or "important"
	// NIS2TrustService says the organisation is a trust service provider:
	// a significant incident affecting its trust services is notified
	// within 24 hours, not 72 (NIS2 Art. 23(4), second subparagraph).
	NIS2TrustService bool `json:"nis2_trust_service"`
	DORA             bool `json:"dora"` // EU DORA financial entity
	// DORAWeekendRelief takes up the relief of Delegated Regulation (EU)
	// 2025/301 Art. 5(4): a DORA report whose deadline falls on a weekend
	// day or a bank holiday may be submitted by noon of the next working
	// day. "" (the default) keeps every deadline strict; "final" takes it
	// for final reports only, as Art. 5(5) leaves it to credit
	// institutions, central counterparties, operators of trading venues
	// and NIS2 essential or important entities; "all" takes it for the
	// initial notification and the intermediate and final reports, as for
	// the other financial entities. An entity whose competent authority
	// has taken it away (Art. 5(6)) leaves it "".
	DORAWeekendRelief string `json:"dora_weekend_relief"`
	// BankHolidays are the bank holidays of the organisation's member
	// state, as dates ("2026-12-25"): besides Saturdays and Sundays, the
	// days that are not working days for the weekend relief.
	BankHolidays []string `json:"bank_holidays"`
	// CompetentAuthority names the NIS competent authority.
	CompetentAuthority string `json:"competent_authority"`
	DPO                string `json:"dpo"` // the data protection officer's name and contact
	Version            int    `json:"version"`
}

// DefaultOrgProfile is the profile until an admin sets one: a UK
// organisation that controls personal data (nearly every one does).
func DefaultOrgProfile() *OrgProfile {
	return &OrgProfile{Jurisdictions: []string{"UK"}, Timezone: "Europe/London", UKGDPR: true, BankHolidays: []string{}}
}

// Location returns the profile's time zone, Europe/London by default.
func (p *OrgProfile) Location() (*time.Location, error) {
	name := p.Timezone
	if name == "" {
		name = "Europe/London"
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// locations caches the zones Location has loaded: time.LoadLocation reads
// and parses the zone's file on every call, and duties are evaluated on
// every incident write.
var locations sync.Map

// Validate checks the profile.
func (p *OrgProfile) Validate() error {
	var pr Problems
	if utf8.RuneCountInString(p.Name) > 200 || utf8.RuneCountInString(p.DPO) > 500 || utf8.RuneCountInString(p.CompetentAuthority) > 200 {
		pr.Add("name", "Keep the names short (at most 200 characters).")
	}
	if _, err := p.Location(); err != nil {
		pr.Add("timezone", "Unknown time zone %q; use an IANA name such as Europe/London.", p.Timezone)
	}
	switch p.NIS2 {
	case "", "essential", "important":
	default:
		pr.Add("nis2", "NIS2 entity type is essential, important or empty.")
	}
	switch p.DORAWeekendRelief {
	case "", "final":
	case "all":
		if p.NIS2 != "" {
			pr.Add("dora_weekend_relief", "An essential or important entity under NIS2 has the weekend and bank holiday relief for final reports only (Delegated Regulation (EU) 2025/301 Art. 5(5)): choose \"final\".")
		}
	default:
		pr.Add("dora_weekend_relief", "The weekend and bank holiday relief is empty (every deadline strict), \"final\" or \"all\".")
	}
	if p.DORAWeekendRelief != "" && !p.DORA {
		pr.Add("dora_weekend_relief", "The weekend and bank holiday relief is DORA's: it applies to a DORA financial entity.")
	}
	if len(p.BankHolidays) > 400 {
		pr.Add("bank_holidays", "At most 400 bank holidays.")
	}
	days := map[string]bool{}
	for _, d := range p.BankHolidays {
		d = strings.TrimSpace(d)
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			pr.Add("bank_holidays", "Bank holidays are dates such as 2026-12-25; %q is not one.", d)
			break
		}
		days[d] = true
	}
	p.BankHolidays = slices.Sorted(maps.Keys(days))
	if p.BankHolidays == nil {
		p.BankHolidays = []string{}
	}
	if p.Jurisdictions == nil {
		p.Jurisdictions = []string{}
	}
	if len(p.Jurisdictions) > 30 {
		pr.Add("jurisdictions", "At most 30 jurisdictions.")
	}
	for i, j := range p.Jurisdictions {
		p.Jurisdictions[i] = strings.ToUpper(strings.TrimSpace(j))
		if len(p.Jurisdictions[i]) < 2 || len(p.Jurisdictions[i]) > 6 {
			pr.Add("jurisdictions", "Jurisdictions are codes such as UK, UK-SCT or IE.")
			break
		}
	}
	return pr.Err()
}

// ObligationStatus is where a reporting duty stands.
type ObligationStatus string

// The obligation statuses.
const (
	ObligationPending     ObligationStatus = "pending"      // to be done
	ObligationSubmitted   ObligationStatus = "submitted"    // done: when, by whom, the reference and text are kept
	ObligationNotRequired ObligationStatus = "not_required" // decided not to apply, with a justification
	ObligationWithdrawn   ObligationStatus = "withdrawn"    // the facts changed and it no longer applies
	// ObligationOnRequest is a stage that is owed only when someone asks
	// for it (NIS2's intermediate report, at the CSIRT's request): listed,
	// with no due time, until RequestObligation opens it as pending with
	// the deadline given.
	ObligationOnRequest ObligationStatus = "on_request"
	// ObligationOptional is a voluntary stage not yet sent (DORA's
	// notification of a significant cyber threat, Art. 19(2)): nothing is
	// owed, so it has no due time and is never late; SubmitObligation
	// records that it was sent, WaiveObligation that it will not be.
	ObligationOptional ObligationStatus = "optional"
)

// ObligationStatuses lists every status.
var ObligationStatuses = []ObligationStatus{ObligationPending, ObligationSubmitted, ObligationNotRequired, ObligationWithdrawn, ObligationOnRequest,
	ObligationOptional}

// Obligation is a reporting duty on an incident, at one stage: made by the
// duty packs from the incident's facts, kept up to date as they change.
type Obligation struct {
	ID         int64  `json:"id"`
	IncidentID int64  `json:"incident_id"`
	Pack       string `json:"pack"`
	Duty       string `json:"duty"`
	Stage      string `json:"stage"`
	// Round numbers the requests of a stage owed on request that was
	// asked for more than once (a second intermediate report after the
	// first was sent is round 2); 1 for every other stage.
	Round           int        `json:"round"`
	Title           string     `json:"title"`
	StageName       string     `json:"stage_name"`
	Authority       string     `json:"authority"`
	Basis           string     `json:"basis"`  // the article or regulation this stage follows
	Source          string     `json:"source"` // the address of the legal text or guidance Basis cites
	Why             string     `json:"why"`
	NotRequiredHint string     `json:"not_required_hint"` // "" when it cannot be waived
	Content         []string   `json:"content"`           // what the report must contain
	Contact         string     `json:"contact"`
	ClockStart      time.Time  `json:"clock_start"`
	DueAt           *time.Time `json:"due_at"` // nil: as soon as possible, or a register entry
	// StrictDueAt is the deadline as the strict rule has it when a relief
	// the organisation took up moved DueAt later: DORA's report due on a
	// weekend day or bank holiday, due by noon of the next working day
	// (Delegated Regulation (EU) 2025/301 Art. 5(4)). Nil otherwise.
	StrictDueAt     *time.Time       `json:"strict_due_at"`
	ASAP            bool             `json:"asap"`
	Register        bool             `json:"register"`
	OnRequest       bool             `json:"on_request"` // opened by hand with the deadline given; see ObligationOnRequest
	Voluntary       bool             `json:"voluntary"`  // may be sent, is not owed; see ObligationOptional
	Status          ObligationStatus `json:"status"`
	Late            bool             `json:"late"` // past due and pending, or submitted after its due time
	SubmittedAt     *time.Time       `json:"submitted_at"`
	SubmittedBy     *int64           `json:"submitted_by"`
	SubmittedByName string           `json:"submitted_by_name"`
	Reference       string           `json:"reference"`
	SubmittedText   string           `json:"submitted_text"`
	LateReason      string           `json:"late_reason"`
	// DelayUnexplained says the duty was submitted after its due time
	// with no reasons for the delay recorded, which happens when the clock
	// is corrected to an earlier start after the submission: the
	// authority asks for the reasons (UK GDPR Art. 33(1)), and
	// ExplainDelay records them.
	DelayUnexplained bool      `json:"delay_unexplained"`
	Justification    string    `json:"justification"`
	WithdrawnReason  string    `json:"withdrawn_reason"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	Version          int       `json:"version"`
	// Incident names the incident, in cross-incident lists.
	Incident *IncidentRef `json:"incident,omitempty"`
}

// SetLate computes Late at now.
func (o *Obligation) SetLate(now time.Time) {
	switch {
	case o.DueAt == nil:
		o.Late = false
	case o.Status == ObligationPending:
		o.Late = now.After(*o.DueAt)
	case o.Status == ObligationSubmitted && o.SubmittedAt != nil:
		o.Late = o.SubmittedAt.After(*o.DueAt)
	default:
		o.Late = false
	}
	o.DelayUnexplained = o.Late && o.Status == ObligationSubmitted && o.LateReason == ""
}

// Submission records that a duty was done.
type Submission struct {
	Reference  string     `json:"reference"`   // the authority's reference, if it gave one
	Text       string     `json:"text"`        // what was sent
	LateReason string     `json:"late_reason"` // required when late (UK GDPR Art. 33(1))
	At         *time.Time `json:"at,omitempty"`
	Version    int        `json:"version"`
}

// Limits on submissions.
const (
	MaxSubmissionText = 100000
	MaxReasonText     = 5000
)

// DutyService keeps the organisation profile and the incidents'
// obligations. Obligations are made and withdrawn by the stores whenever
// an incident's facts change; people submit them or record why not.
type DutyService interface {
	// FindProfile is the default organisation's profile, for those who
	// hold a role in it (EFORBIDDEN for others).
	FindProfile(ctx context.Context) (*OrgProfile, error)
	UpdateProfile(ctx context.Context, p *OrgProfile) error
	// FindOrgProfile and UpdateOrgProfile are an organisation's own
	// profile (by slug), which decides its incidents' duties: its members
	// read it, its admins set it.
	FindOrgProfile(ctx context.Context, slug string) (*OrgProfile, error)
	UpdateOrgProfile(ctx context.Context, slug string, p *OrgProfile) error
	// FindObligations lists an incident's obligations, most urgent first.
	FindObligations(ctx context.Context, incidentID int64) ([]*Obligation, error)
	// FindObligationByID returns one obligation, if the actor may see its incident.
	FindObligationByID(ctx context.Context, id int64) (*Obligation, error)
	// FindDueObligations lists pending obligations due before the time,
	// on incidents the actor may see, soonest first.
	FindDueObligations(ctx context.Context, before time.Time, limit int) ([]*Obligation, error)
	// SubmitObligation records that a pending duty, or an optional
	// (voluntary) one, was done. EINVALID for any other status.
	SubmitObligation(ctx context.Context, id int64, s Submission) (*Obligation, error)
	// WaiveObligation records that a duty does not apply after all, or
	// that an optional one will not be sent, with the reason.
	WaiveObligation(ctx context.Context, id int64, justification string, version int) (*Obligation, error)
	// ExplainDelay records the reasons for the delay of a duty submitted
	// after its due time without them: awareness was corrected to an
	// earlier time after the submission, and the submission now lies past
	// the corrected deadline. EINVALID if the duty was not submitted late
	// or its reasons are already recorded; ECONFLICT on a stale version.
	ExplainDelay(ctx context.Context, id int64, reason string, version int) (*Obligation, error)
	// RequestObligation opens a stage that is owed on request (status
	// on_request) as pending, due at the time the request gave; on a stage
	// already opened and still pending, a new request replaces the due
	// time. Once its report is sent, the stage is listed again as
	// on_request, the next round, for the next request: each report is
	// kept. EINVALID for any other duty (the sent one among them, whose
	// message names the next round); ECONFLICT on a stale version.
	RequestObligation(ctx context.Context, id int64, due time.Time, version int) (*Obligation, error)
	// FindPacks lists the duty packs in force: the shipped ones, and the
	// ones admins edited or added.
	FindPacks(ctx context.Context) ([]*PackInfo, error)
	// SavePack stores a pack (admins). One that fails validation is
	// refused with every problem named, and the pack in force stays.
	SavePack(ctx context.Context, body []byte) (*PackInfo, error)
	// DeletePack removes an admin's pack; a shipped one comes back.
	DeletePack(ctx context.Context, id string) error
}

// PackInfo describes a duty pack in force.
type PackInfo struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Version   int             `json:"version"`
	Status    string          `json:"status"` // "" for law in force, "bill" for a bill not yet law
	Basis     string          `json:"basis"`
	Duties    int             `json:"duties"`
	Shipped   bool            `json:"shipped"`    // Vigil ships a pack with this id
	Custom    bool            `json:"custom"`     // an admin's version is in force
	UpdatedAt *time.Time      `json:"updated_at"` // of the admin's version
	Body      json.RawMessage `json:"body"`       // the pack's JSON
}
