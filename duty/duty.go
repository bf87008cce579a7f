// Package duty turns an incident's facts into the reporting duties they
// trigger — the ICO within 72 hours of awareness, the NIS competent
// authority, NIS2's early warning, DORA's reports, the NCSC, Report Fraud —
// from rule packs that are data, not code: Vigil ships packs for the UK
// and EU regimes (packs/*.json, each citing its legal basis), and an
// administrator can edit them or add their own. The package is pure: it
// parses and validates packs and evaluates them; the stores keep the
// resulting obligations.
package duty

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// Pack is a set of duties under one regime.
type Pack struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Status is "" for law in force (or a contract), and "bill" for a
	// bill before Parliament that is not law yet: its duties are the
	// organisation's choice, which a profile setting makes.
	Status string `json:"status,omitempty"`
	// Basis cites the law or contract the pack follows.
	Basis string `json:"basis"`
	// Note says, in the project's own words, what the pack covers and
	// what it leaves to the organisation's judgement.
	Note   string `json:"note,omitempty"`
	Duties []Duty `json:"duties"`
}

// Duty is one obligation a pack may impose.
type Duty struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Authority string `json:"authority"` // who is told: ICO, NCSC, the competent authority, …
	Basis     string `json:"basis"`     // the article or clause
	// When decides whether the duty applies; Why, built from it, says why.
	When Condition `json:"when"`
	// Clock names the incident time the clock starts from: aware_at,
	// detected_at, occurred_at, reported_at or created_at (the first that
	// is set, in that order, when this one is not).
	Clock  string  `json:"clock"`
	Stages []Stage `json:"stages"`
	// NotRequiredHint, if set, allows recording that the duty does not
	// apply after all (with a justification), and says when that is so.
	NotRequiredHint string `json:"not_required_hint,omitempty"`
	// Content lists what the report must contain, for the draft.
	Content []string `json:"content,omitempty"`
	// Contact names the contact role to show with the duty (dpo, ico,
	// ncsc, competent_authority, report_fraud, police).
	Contact string `json:"contact,omitempty"`
}

// Stage is one report within a duty: an early warning, a notification, a
// final report.
type Stage struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Due is how long after the clock start (or, with After, after the
	// previous stage) the stage is due: "72h", "24h", "1 month", "5
	// working days" is not supported; "asap" means as soon as possible,
	// with no fixed deadline; "none" means it is kept, not sent (a
	// register entry).
	Due string `json:"due"`
	// After names an earlier stage of the same duty whose submission (or,
	// until it is submitted, its due time) starts this stage's clock.
	After string `json:"after,omitempty"`
	// AlsoAfter names more earlier stages: the clock starts at the latest
	// submission among After and these (DORA: the final report is due a
	// month after the latest updated intermediate report).
	AlsoAfter []string `json:"also_after,omitempty"`
	// Clock, if set, is the stage's own clock in place of the duty's; the
	// stage applies only once it has started (DORA's update when regular
	// activities are recovered runs from recovered_at).
	Clock string `json:"clock,omitempty"`
	// IfLater names an earlier stage: this stage applies only when its
	// clock starts after that stage was submitted, or until then was due
	// (NIS2: a final report a month after handling, for an incident still
	// ongoing at the final report's time).
	IfLater string `json:"if_later,omitempty"`
	// OnRequest says the stage is opened by hand, when an authority asks
	// for it (NIS2's intermediate report) or the organisation decides it
	// is owed (DORA's updated intermediate report on a significant
	// change), with the deadline it was given; until then it is listed as
	// available, with no due time. Due is ignored.
	OnRequest bool `json:"on_request,omitempty"`
	// Voluntary says the stage may be sent and is not owed (DORA's
	// notification of a significant cyber threat, Art. 19(2)): it is
	// listed as optional, with no due time, is never late, and is
	// recorded when it is sent or when the organisation decides not to
	// send it. Due is ignored.
	Voluntary bool `json:"voluntary,omitempty"`
	// Sooner is a second deadline on another clock; the stage is due at
	// whichever comes first (DORA: 4 hours after classification as major,
	// and at the latest 24 hours after awareness). It counts only once
	// its clock has started.
	Sooner *Sooner `json:"sooner,omitempty"`
	// NextWorkingDay, where its condition holds, lets a deadline that
	// falls on a weekend day or one of the profile's bank holidays be met
	// by a time of the next working day, in the organisation's zone
	// (DORA's reports: noon, Delegated Regulation (EU) 2025/301 Art.
	// 5(4)). A deadline on a working day stays as it is.
	NextWorkingDay *NextWorkingDay `json:"next_working_day,omitempty"`
	// Basis cites the article, regulation or guidance that sets this
	// stage and its time limit ("NIS2 Art. 23(4)(a)"), and Source links to
	// that text, or to the regulator's guidance on it. Every stage Vigil
	// ships has both (TestEveryStageCited); an admin's pack may leave them
	// out, and its stages then show the duty's basis (Pack.Uncited lists them).
	Basis  string `json:"basis,omitempty"`
	Source string `json:"source,omitempty"`
}

// Sooner is an earlier deadline that may apply to a stage.
type Sooner struct {
	Clock string `json:"clock"` // any of Clocks; classified_at is the usual one
	Due   string `json:"due"`   // hours or days
	// Restarts says what happens when this clock starts only once the
	// stage's own deadline has passed: the stage is then due on this clock
	// alone, rather than at a deadline already behind it. DORA: an
	// incident classified as major more than 24 hours after awareness is
	// reported within 4 hours of the classification (Delegated Regulation
	// (EU) 2025/301, Art. 5(2)). Without it the stage stays due at the
	// earlier deadline, and is late from the moment the clock starts.
	Restarts bool `json:"restarts,omitempty"`
	// When, if set, limits the earlier deadline to incidents and
	// organisations it holds for (NIS2: a trust service provider notifies
	// within 24 hours rather than 72).
	When *Condition `json:"when,omitempty"`
}

// NextWorkingDay moves a deadline off weekends and bank holidays.
type NextWorkingDay struct {
	By   string    `json:"by"`   // the wall time of the next working day it moves to, "12:00"
	When Condition `json:"when"` // where it holds: an organisation's choice, usually (a profile fact)
	// Basis cites the rule; it is added to the stage's citation when it
	// moves a deadline.
	Basis string `json:"basis"`
}

// byRE reads a wall time, "12:00".
var byRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

// after returns when something due at t is due under the relief: t
// itself when t falls on a working day in loc, else the time By on the
// next working day. Saturdays, Sundays and the holidays (dates in loc)
// are not working days.
func (w *NextWorkingDay) after(t time.Time, loc *time.Location, holidays map[string]bool) time.Time {
	off := func(d time.Time) bool {
		return d.Weekday() == time.Saturday || d.Weekday() == time.Sunday || holidays[d.Format(time.DateOnly)]
	}
	m := byRE.FindStringSubmatch(w.By)
	l := t.In(loc)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	if m == nil || !off(day) {
		return t
	}
	// A profile holds at most 400 holidays, so a working day comes
	// within a few hundred days; the bound keeps a bad list from looping.
	for i := 0; i < 1000 && off(day); i++ {
		day = day.AddDate(0, 0, 1)
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return firstAtWall(time.Date(day.Year(), day.Month(), day.Day(), h, mi, 0, 0, time.UTC), loc)
}

// Condition is a small boolean language over the incident's facts and the
// organisation's profile: all/any/not of conditions, or one comparison.
type Condition struct {
	All []Condition `json:"all,omitempty"`
	Any []Condition `json:"any,omitempty"`
	Not *Condition  `json:"not,omitempty"`
	// Fact names an incident fact or, with the "profile." prefix, a
	// profile fact; the comparison is one of Eq, Gte, Lte.
	Fact string `json:"fact,omitempty"`
	Eq   any    `json:"eq,omitempty"`
	Gte  any    `json:"gte,omitempty"`
	Lte  any    `json:"lte,omitempty"`
	// Why says, in plain words, what it means when it holds.
	Why string `json:"why,omitempty"`
}

// Profile is what the organisation is under each regime.
type Profile = vigil.OrgProfile

// profileFacts are a profile's values for conditions.
func profileFacts(p *Profile) map[string]any {
	j := map[string]any{}
	for _, s := range p.Jurisdictions {
		j[strings.ToUpper(s)] = true
	}
	return map[string]any{
		"profile.uk_gdpr_controller": p.UKGDPR, "profile.uk_gdpr_processor": p.UKGDPRProcessor, "profile.nis_oes": p.NISOES,
		"profile.nis_rdsp": p.NISRDSP, "profile.nis_rmsp": p.NISRMSP, "profile.uk_csr_bill": p.UKCSRBill, "profile.nis2": p.NIS2, "profile.nis2_trust_service": p.NIS2TrustService, "profile.dora": p.DORA,
		"profile.dora_weekend_relief": p.DORAWeekendRelief,
		"profile.scotland":            j["UK-SCT"] == true,
		"profile.uk":                  j["UK"] == true || j["UK-SCT"] == true,
	}
}

// incidentFacts are an incident's values for conditions.
func incidentFacts(inc *vigil.Incident) map[string]any {
	return map[string]any{
		"personal_data": inc.PersonalData, "essential_service": inc.EssentialService, "digital_service_impact": inc.DigitalServiceImpact,
		"crime_suspected": inc.CrimeSuspected, "significant_cyber_threat": inc.SignificantCyberThreat,
		"significant": inc.Significant, "category": inc.Category, "severity": string(inc.Severity), "type": string(inc.Type),
		"status": string(inc.Status), "exercise": inc.Exercise, "tlp": string(inc.TLP),
	}
}

// Facts lists the incident facts conditions may name.
var Facts = []string{"personal_data", "essential_service", "digital_service_impact", "crime_suspected", "significant_cyber_threat", "significant",
	"category", "severity", "type", "status", "exercise", "tlp"}

// ProfileFacts lists the profile facts conditions may name.
var ProfileFacts = []string{"profile.uk_gdpr_controller", "profile.uk_gdpr_processor", "profile.nis_oes", "profile.nis_rdsp",
	"profile.nis_rmsp", "profile.uk_csr_bill", "profile.nis2",
	"profile.nis2_trust_service", "profile.dora", "profile.dora_weekend_relief", "profile.scotland", "profile.uk"}

// Clocks lists the incident times a clock may start from. The first five
// fall back along the list when unset (awareness, else detection, …).
// classified_at (when the incident was classified significant, or major)
// has no fallback: a clock on it starts only once that has happened.
// significant_at is when the organisation became aware that the incident
// is significant (NIS2 Art. 23(4)(a) and (b)): the classification time,
// and until that is recorded the awareness clock. Neither is ever before
// awareness: an incident cannot be classified before anyone knew of it.
//
// recovered_at (regular activities recovered) and handled_at (recovered,
// else closed: the end of the handling of the incident) have no fallback
// either.
var Clocks = []string{"aware_at", "detected_at", "occurred_at", "reported_at", "created_at", "classified_at", "significant_at",
	"recovered_at", "handled_at"}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Parse reads and validates a pack. Every problem is reported, with the
// path to it ("duties[2].stages[0].due"), so an administrator can fix a
// pack in one go; a pack with problems is refused whole.
func Parse(b []byte) (*Pack, error) {
	var p Pack
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "The pack is not valid JSON for a duty pack: %v.", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks a pack.
func (p *Pack) Validate() error {
	var pr vigil.Problems
	if !idRE.MatchString(p.ID) {
		pr.Add("id", "The pack needs an id of lower-case letters, digits, dots, dashes or underscores.")
	}
	if strings.TrimSpace(p.Name) == "" {
		pr.Add("name", "The pack needs a name.")
	}
	if strings.TrimSpace(p.Basis) == "" {
		pr.Add("basis", "Cite the law, regulation or contract the pack follows.")
	}
	if p.Status != "" && p.Status != "bill" {
		pr.Add("status", "The status is empty (law in force) or \"bill\" (not yet law).")
	}
	if len(p.Duties) == 0 {
		pr.Add("duties", "The pack has no duties.")
	}
	seen := map[string]bool{}
	for i, d := range p.Duties {
		f := fmt.Sprintf("duties[%d]", i)
		if !idRE.MatchString(d.ID) {
			pr.Add(f+".id", "Each duty needs an id of lower-case letters, digits, dots, dashes or underscores.")
		} else if seen[d.ID] {
			pr.Add(f+".id", "Duty id %q is used twice.", d.ID)
		}
		seen[d.ID] = true
		if strings.TrimSpace(d.Title) == "" {
			pr.Add(f+".title", "Each duty needs a title.")
		}
		if strings.TrimSpace(d.Authority) == "" {
			pr.Add(f+".authority", "Say who is told.")
		}
		if strings.TrimSpace(d.Basis) == "" {
			pr.Add(f+".basis", "Cite the article or clause.")
		}
		if !slices.Contains(Clocks, d.Clock) {
			pr.Add(f+".clock", "The clock must start at one of %s.", strings.Join(Clocks, ", "))
		}
		validateCondition(&pr, f+".when", &d.When, 0)
		if len(d.Stages) == 0 {
			pr.Add(f+".stages", "Each duty needs at least one stage.")
		}
		stages := map[string]bool{}
		for j, s := range d.Stages {
			sf := fmt.Sprintf("%s.stages[%d]", f, j)
			if !idRE.MatchString(s.ID) || stages[s.ID] {
				pr.Add(sf+".id", "Each stage needs an id of its own within the duty.")
			}
			if strings.TrimSpace(s.Name) == "" {
				pr.Add(sf+".name", "Each stage needs a name.")
			}
			if s.Due == "" && (s.Voluntary || s.OnRequest) {
				// Not timed by the pack: nothing to read.
			} else if _, err := ParseDue(s.Due); err != nil {
				pr.Add(sf+".due", "%s", vigil.ErrorMessage(err))
			}
			if s.Sooner != nil {
				if !slices.Contains(Clocks, s.Sooner.Clock) {
					pr.Add(sf+".sooner.clock", "The clock must start at one of %s.", strings.Join(Clocks, ", "))
				}
				if d, err := ParseDue(s.Sooner.Due); err != nil {
					pr.Add(sf+".sooner.due", "%s", vigil.ErrorMessage(err))
				} else if d.Duration == 0 {
					pr.Add(sf+".sooner.due", "An earlier deadline is a number of hours or days.")
				}
				if s.Sooner.When != nil {
					validateCondition(&pr, sf+".sooner.when", s.Sooner.When, 0)
				}
			}
			if s.Source != "" && !isSourceURL(s.Source) {
				pr.Add(sf+".source", "The source is the https:// address of the legal text or the guidance.")
			}
			if utf8.RuneCountInString(s.Basis) > 300 {
				pr.Add(sf+".basis", "Keep the citation short (at most 300 characters).")
			}
			if s.After != "" && !stages[s.After] {
				pr.Add(sf+".after", "Stage %q is not an earlier stage of this duty.", s.After)
			}
			for k, a := range s.AlsoAfter {
				if !stages[a] {
					pr.Add(fmt.Sprintf("%s.also_after[%d]", sf, k), "Stage %q is not an earlier stage of this duty.", a)
				}
			}
			if len(s.AlsoAfter) > 0 && s.After == "" {
				pr.Add(sf+".also_after", "also_after adds to after: name the first stage in after.")
			}
			if s.IfLater != "" && !stages[s.IfLater] {
				pr.Add(sf+".if_later", "Stage %q is not an earlier stage of this duty.", s.IfLater)
			}
			if s.Clock != "" && !slices.Contains(Clocks, s.Clock) {
				pr.Add(sf+".clock", "The clock must start at one of %s.", strings.Join(Clocks, ", "))
			}
			if s.OnRequest && (s.After != "" || s.Sooner != nil || s.IfLater != "" || s.Clock != "") {
				pr.Add(sf+".on_request", "A stage opened on request takes its deadline from the request: no after, sooner, if_later or clock.")
			}
			if s.Voluntary && (s.OnRequest || s.After != "" || s.Sooner != nil || s.IfLater != "") {
				pr.Add(sf+".voluntary", "A voluntary stage has no deadline: no on_request, after, sooner or if_later.")
			}
			if w := s.NextWorkingDay; w != nil {
				if s.Voluntary || s.OnRequest {
					pr.Add(sf+".next_working_day", "A stage with no deadline of its pack's has none to move.")
				}
				if !byRE.MatchString(w.By) {
					pr.Add(sf+".next_working_day.by", "The time of the next working day is a time of day, such as \"12:00\".")
				}
				if strings.TrimSpace(w.Basis) == "" {
					pr.Add(sf+".next_working_day.basis", "Cite the rule that moves the deadline.")
				} else if utf8.RuneCountInString(w.Basis) > 300 {
					pr.Add(sf+".next_working_day.basis", "Keep the citation short (at most 300 characters).")
				}
				validateCondition(&pr, sf+".next_working_day.when", &w.When, 0)
			}
			stages[s.ID] = true
		}
	}
	return pr.Err()
}

// isSourceURL reports whether s is an absolute https address, the only
// kind a citation links to.
func isSourceURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && len(s) <= 500
}

// Uncited lists the stages of p that do not cite their own source (a
// basis and a link), by path ("duties[1].stages[0]").
func (p *Pack) Uncited() []string {
	var out []string
	for i, d := range p.Duties {
		for j, s := range d.Stages {
			if strings.TrimSpace(s.Basis) == "" || s.Source == "" {
				out = append(out, fmt.Sprintf("duties[%d].stages[%d]", i, j))
			}
		}
	}
	return out
}

func validateCondition(pr *vigil.Problems, f string, c *Condition, depth int) {
	if depth > 8 {
		pr.Add(f, "Conditions nest at most 8 deep.")
		return
	}
	kinds := 0
	if len(c.All) > 0 {
		kinds++
		for i := range c.All {
			validateCondition(pr, fmt.Sprintf("%s.all[%d]", f, i), &c.All[i], depth+1)
		}
	}
	if len(c.Any) > 0 {
		kinds++
		for i := range c.Any {
			validateCondition(pr, fmt.Sprintf("%s.any[%d]", f, i), &c.Any[i], depth+1)
		}
	}
	if c.Not != nil {
		kinds++
		validateCondition(pr, f+".not", c.Not, depth+1)
	}
	if c.Fact != "" {
		kinds++
		if !slices.Contains(Facts, c.Fact) && !slices.Contains(ProfileFacts, c.Fact) {
			pr.Add(f+".fact", "Unknown fact %q; one of %s.", c.Fact, strings.Join(append(slices.Clone(Facts), ProfileFacts...), ", "))
		}
		n := 0
		for _, v := range []any{c.Eq, c.Gte, c.Lte} {
			if v != nil {
				n++
			}
		}
		if n != 1 {
			pr.Add(f, "A comparison needs exactly one of eq, gte, lte.")
		}
	}
	if kinds != 1 {
		pr.Add(f, "A condition is one of all, any, not, or a fact with a comparison.")
	}
}

// Due is a parsed stage due time.
type Due struct {
	ASAP     bool
	None     bool
	Duration time.Duration
	Months   int
}

var dueRE = regexp.MustCompile(`^(\d+)\s*(h|hours?|months?|days?)$`)

// ParseDue reads "72h", "24 hours", "1 month", "30 days", "asap", "none".
func ParseDue(s string) (Due, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "asap":
		return Due{ASAP: true}, nil
	case "none":
		return Due{None: true}, nil
	}
	m := dueRE.FindStringSubmatch(s)
	if m == nil {
		return Due{}, vigil.Errorf(vigil.EINVALID, "Due %q is not one of: a number of hours (\"72h\"), days (\"30 days\"), months (\"1 month\"), \"asap\" or \"none\".", s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 || n > 10000 {
		return Due{}, vigil.Errorf(vigil.EINVALID, "Due %q is out of range.", s)
	}
	switch {
	case strings.HasPrefix(m[2], "h"):
		return Due{Duration: time.Duration(n) * time.Hour}, nil
	case strings.HasPrefix(m[2], "d"):
		// A day is 24 hours from the clock start, the way the regimes
		// count hours; calendar days would move with the clocks.
		return Due{Duration: time.Duration(n) * 24 * time.Hour}, nil
	}
	return Due{Months: n}, nil
}

// After returns when something due d after start is due. Hours are exact
// (UTC arithmetic). Months are calendar months in loc: see AddMonths.
func (d Due) After(start time.Time, loc *time.Location) (time.Time, bool) {
	switch {
	case d.ASAP || d.None:
		return time.Time{}, false
	case d.Months > 0:
		return AddMonths(start, d.Months, loc), true
	}
	return start.Add(d.Duration).UTC(), true
}

// AddMonths adds calendar months to t in loc: "within one month" of 10
// June 14:30 is 10 July 14:30 in the organisation's time zone, the same
// wall time on the same day of the month, or on the month's last day
// when it has no such day (31 January + 1 month = 28 February, or 29 in
// a leap year). On a day the clocks change, that wall time is reached at
// the first instant the clocks show it or a later time: in the hour the
// clocks repeat in autumn, its first occurrence; in the hour they skip in
// spring, the moment they go forward.
//
// This is stricter than Regulation (EEC, Euratom) No 1182/71, Art. 3(2)(c),
// which the EU acts' month periods follow: there a period in months ends
// at the expiry of the last hour of that day (and, by Art. 3(4), on the
// next working day when that day is a Saturday, Sunday or public holiday).
// Vigil keeps the earlier deadline on purpose: the acts also ask for the
// report "without undue delay", and a deadline met early is met.
func AddMonths(t time.Time, months int, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, day := l.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return firstAtWall(time.Date(first.Year(), first.Month(), min(day, last), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC), loc)
}

// firstAtWall returns the first instant at which the clocks in loc show
// the wall time w (given as if in UTC) or a later time. time.Date leaves
// the choice to the implementation around a change, which picks the
// second occurrence of a repeated hour.
func firstAtWall(w time.Time, loc *time.Location) time.Time {
	var best, earliest time.Time
	// The offsets in force a day and a half either side cover any change
	// that day; zones do not change twice within three days.
	for _, probe := range []time.Time{w.Add(-36 * time.Hour), w.Add(36 * time.Hour)} {
		_, off := probe.In(loc).Zone()
		c := w.Add(-time.Duration(off) * time.Second)
		if cw := c.In(loc); cw.Year() == w.Year() && cw.YearDay() == w.YearDay() && cw.Hour() == w.Hour() && cw.Minute() == w.Minute() &&
			cw.Second() == w.Second() && (best.IsZero() || c.Before(best)) {
			best = c
		}
		if earliest.IsZero() || c.Before(earliest) {
			earliest = c
		}
	}
	if !best.IsZero() {
		return best.UTC()
	}
	// The clocks skip w: it is reached when they go forward, the end of
	// the zone period the earlier reading falls in.
	_, end := earliest.In(loc).ZoneBounds()
	return end.UTC()
}

// Obligation is a duty that applies to an incident, at one stage.
type Obligation struct {
	Pack       string     `json:"pack"`
	Duty       string     `json:"duty"`
	Stage      string     `json:"stage"`
	Title      string     `json:"title"`
	StageName  string     `json:"stage_name"`
	Authority  string     `json:"authority"`
	Basis      string     `json:"basis"`  // the stage's citation, or else the duty's
	Source     string     `json:"source"` // the address of the text Basis cites, if the pack gives one
	Why        string     `json:"why"`
	ClockStart time.Time  `json:"clock_start"`
	Due        *time.Time `json:"due"` // nil: as soon as possible, or kept rather than sent
	ASAP       bool       `json:"asap"`
	Register   bool       `json:"register"` // kept, not sent
	// OnRequest: opened by hand with the deadline given (an authority's
	// request); Due is nil until then.
	OnRequest bool `json:"on_request"`
	// Voluntary: may be sent, is not owed; never due, never late.
	Voluntary bool `json:"voluntary"`
	// StrictDue is the deadline before a stage's NextWorkingDay moved it
	// to Due (it fell on a weekend day or a bank holiday); nil when
	// nothing moved it.
	StrictDue *time.Time `json:"strict_due,omitempty"`
	MayWaive  string     `json:"not_required_hint,omitempty"`
	Content   []string   `json:"content,omitempty"`
	Contact   string     `json:"contact,omitempty"`
}

// Key names an obligation for matching on re-evaluation.
func (o *Obligation) Key() string { return o.Pack + "/" + o.Duty + "/" + o.Stage }

// Submitted tells Evaluate when earlier stages were submitted, by key, so
// that a stage due after another counts from the real submission.
type Submitted map[string]time.Time

// Evaluate returns the obligations the packs impose on inc under profile.
// Exercises impose none. Withdrawn duties (facts changed) are simply not
// returned; the store marks them withdrawn with the reason.
func Evaluate(packs []*Pack, profile *Profile, inc *vigil.Incident, submitted Submitted) ([]*Obligation, error) {
	// Exercises report to nobody; an event that was not an incident, or
	// that duplicates another (whose duties stand), has no duties of its own.
	if inc.Exercise || inc.Status == vigil.StatusNotIncident || inc.Status == vigil.StatusDuplicate {
		return nil, nil
	}
	loc, err := profile.Location()
	if err != nil {
		return nil, vigil.Invalid("timezone", "Unknown time zone %q.", profile.Timezone)
	}
	facts := incidentFacts(inc)
	for k, v := range profileFacts(profile) {
		facts[k] = v
	}
	holidays := map[string]bool{}
	for _, d := range profile.BankHolidays {
		holidays[strings.TrimSpace(d)] = true
	}
	var out []*Obligation
	for _, p := range packs {
		for _, d := range p.Duties {
			ok, why := d.When.eval(facts)
			if !ok {
				continue
			}
			start, ok := clockStart(inc, d.Clock)
			if !ok {
				continue
			}
			due := map[string]time.Time{}
			for _, s := range d.Stages {
				basis := s.Basis
				if strings.TrimSpace(basis) == "" {
					basis = d.Basis
				}
				o := &Obligation{Pack: p.ID, Duty: d.ID, Stage: s.ID, Title: d.Title, StageName: s.Name, Authority: d.Authority,
					Basis: basis, Source: s.Source, Why: why, ClockStart: start, MayWaive: d.NotRequiredHint, Content: d.Content,
					Contact: string(vigil.ContactRole(d.Contact).Canonical())}
				if s.OnRequest {
					o.OnRequest = true
					out = append(out, o)
					continue
				}
				from := start
				if s.Clock != "" {
					t, ok := clockStart(inc, s.Clock)
					if !ok {
						continue
					}
					from, o.ClockStart = t, t
				}
				if s.Voluntary {
					o.Voluntary = true
					out = append(out, o)
					continue
				}
				if s.IfLater != "" {
					ref, ok := submitted[p.ID+"/"+d.ID+"/"+s.IfLater]
					if !ok {
						ref, ok = due[s.IfLater]
					}
					if !ok || !from.After(ref) {
						continue
					}
				}
				if s.After != "" {
					// The latest submission among the stages named; until
					// one is submitted, the first one's due time.
					var latest time.Time
					for _, a := range append([]string{s.After}, s.AlsoAfter...) {
						if t, ok := submitted[p.ID+"/"+d.ID+"/"+a]; ok && t.After(latest) {
							latest = t
						}
					}
					if !latest.IsZero() {
						from = latest
					} else if t, ok := due[s.After]; ok {
						from = t
					}
					o.ClockStart = from
				}
				pd, _ := ParseDue(s.Due)
				o.ASAP, o.Register = pd.ASAP, pd.None
				if t, ok := pd.After(from, loc); ok {
					if s.Sooner != nil && s.Sooner.applies(facts) {
						if start2, ok := clockStart(inc, s.Sooner.Clock); ok {
							sd, _ := ParseDue(s.Sooner.Due)
							// A clock that starts at or after the stage's own
							// deadline restarts it, if the pack says so.
							restart := s.Sooner.Restarts && !start2.Before(t)
							if t2, ok := sd.After(start2, loc); ok && (t2.Before(t) || restart) {
								t = t2
								o.ClockStart = start2
							}
						}
					}
					if w := s.NextWorkingDay; w != nil {
						if ok, _ := w.When.eval(facts); ok {
							if moved := w.after(t, loc, holidays); !moved.Equal(t) {
								strict := t
								o.StrictDue, o.Basis = &strict, o.Basis+"; "+w.Basis
								t = moved
							}
						}
					}
					o.Due = &t
					due[s.ID] = t
				}
				out = append(out, o)
			}
		}
	}
	// As soon as possible first, then by due time, then what is kept
	// rather than sent, what is owed on request, and what is voluntary.
	rank := func(o *Obligation) int {
		switch {
		case o.Voluntary:
			return 4
		case o.OnRequest:
			return 3
		case o.ASAP:
			return 0
		case o.Due != nil:
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return a.Due != nil && b.Due != nil && a.Due.Before(*b.Due)
	})
	return out, nil
}

// applies says whether the earlier deadline holds for these facts.
func (s *Sooner) applies(facts map[string]any) bool {
	if s.When == nil {
		return true
	}
	ok, _ := s.When.eval(facts)
	return ok
}

// clockStart reads the named time of inc, falling back along Clocks.
func clockStart(inc *vigil.Incident, name string) (time.Time, bool) {
	switch name {
	case "recovered_at":
		if t := inc.Times.RecoveredAt; t != nil {
			return t.UTC(), true
		}
		return time.Time{}, false
	case "handled_at":
		for _, t := range []*time.Time{inc.Times.RecoveredAt, inc.Times.ClosedAt} {
			if t != nil {
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	if name == "classified_at" || name == "significant_at" {
		aware, ok := clockStart(inc, "aware_at")
		if t := inc.Times.ClassifiedAt; t != nil {
			if c := t.UTC(); !ok || c.After(aware) {
				return c, true
			}
			return aware, true
		}
		if name == "significant_at" {
			return aware, ok
		}
		return time.Time{}, false
	}
	times := map[string]*time.Time{"aware_at": inc.Times.AwareAt, "detected_at": inc.Times.DetectedAt,
		"occurred_at": inc.Times.OccurredAt, "reported_at": inc.Times.ReportedAt}
	i := slices.Index(Clocks, name)
	for _, c := range Clocks[i:] {
		if c == "created_at" {
			if !inc.CreatedAt.IsZero() {
				return inc.CreatedAt.UTC(), true
			}
			return time.Time{}, false
		}
		if t := times[c]; t != nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// eval says whether c holds over facts, and why in words.
func (c *Condition) eval(facts map[string]any) (bool, string) {
	switch {
	case len(c.All) > 0:
		var whys []string
		for i := range c.All {
			ok, why := c.All[i].eval(facts)
			if !ok {
				return false, ""
			}
			if why != "" {
				whys = append(whys, why)
			}
		}
		return true, firstWhy(c.Why, strings.Join(whys, "; "))
	case len(c.Any) > 0:
		for i := range c.Any {
			if ok, why := c.Any[i].eval(facts); ok {
				return true, firstWhy(c.Why, why)
			}
		}
		return false, ""
	case c.Not != nil:
		ok, _ := c.Not.eval(facts)
		return !ok, c.Why
	}
	v := facts[c.Fact]
	var ok bool
	switch {
	case c.Eq != nil:
		want := c.Eq
		if s, isString := want.(string); isString && c.Fact == "status" {
			// A pack written before Report Fraud replaced Action Fraud
			// names the old status.
			want = string(vigil.Status(strings.ToLower(s)).Canonical())
		}
		ok = equal(v, want)
	case c.Gte != nil:
		n, comparable := compare(c.Fact, v, c.Gte)
		ok = comparable && n >= 0
	case c.Lte != nil:
		n, comparable := compare(c.Fact, v, c.Lte)
		ok = comparable && n <= 0
	}
	if !ok {
		return false, ""
	}
	return true, c.Why
}

func firstWhy(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func equal(v, want any) bool {
	switch w := want.(type) {
	case float64:
		n, ok := toFloat(v)
		return ok && n == w
	case bool:
		b, ok := v.(bool)
		return ok && b == w
	case string:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, w)
	}
	return false
}

// compare orders v against want: numbers as numbers, severities by rank.
// ok is false for values that cannot be compared, which then match
// neither gte nor lte.
func compare(fact string, v, want any) (n int, ok bool) {
	if fact == "severity" {
		a, b := vigil.Severity(strings.ToLower(fmt.Sprint(v))).Rank(), vigil.Severity(strings.ToLower(fmt.Sprint(want))).Rank()
		if a == 0 || b == 0 {
			return 0, false
		}
		return a - b, true
	}
	a, ok1 := toFloat(v)
	b, ok2 := toFloat(want)
	if !ok1 || !ok2 || a == 0 && fact == "category" {
		// Category 0 is "not set": it is neither at most nor at least anything.
		return 0, false
	}
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

//go:embed packs/*.json
var shipped embed.FS

// Shipped returns the packs Vigil ships, parsed and validated.
func Shipped() ([]*Pack, error) {
	names, err := fs.Glob(shipped, "packs/*.json")
	if err != nil {
		return nil, err
	}
	var out []*Pack
	for _, n := range names {
		b, err := shipped.ReadFile(n)
		if err != nil {
			return nil, err
		}
		p, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("shipped pack %s: %w (%v)", n, err, vigil.ErrorFields(err))
		}
		out = append(out, p)
	}
	return out, nil
}

func shippedNames() ([]string, error) { return fs.Glob(shipped, "packs/*.json") }

// ShippedBodies returns the shipped packs' JSON by pack id.
func ShippedBodies() (map[string][]byte, error) {
	names, err := shippedNames()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := shipped.ReadFile(n)
		if err != nil {
			return nil, err
		}
		p, err := Parse(b)
		if err != nil {
			return nil, err
		}
		out[p.ID] = b
	}
	return out, nil
}
