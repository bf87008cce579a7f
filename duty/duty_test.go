package duty

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func shippedPacks(t *testing.T) []*Pack {
	t.Helper()
	packs, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(packs) != 7 {
		t.Fatalf("%d shipped packs", len(packs))
	}
	return packs
}

func ptr(t time.Time) *time.Time { return &t }

var aware = time.Date(2026, 6, 10, 14, 30, 0, 0, time.UTC)

func incident(mod func(*vigil.Incident)) *vigil.Incident {
	inc := &vigil.Incident{Title: "x", Status: vigil.StatusConfirmed, Severity: vigil.SeverityMedium, Category: 5,
		CreatedAt: aware.Add(-time.Hour), Times: vigil.IncidentTimes{AwareAt: ptr(aware), DetectedAt: ptr(aware.Add(-2 * time.Hour))}}
	if mod != nil {
		mod(inc)
	}
	return inc
}

func keys(obs []*Obligation) []string {
	var out []string
	for _, o := range obs {
		out = append(out, o.Key())
	}
	return out
}

func find(obs []*Obligation, key string) *Obligation {
	for _, o := range obs {
		if o.Key() == key {
			return o
		}
	}
	return nil
}

func TestRegimes(t *testing.T) {
	packs := shippedPacks(t)
	ukController := &Profile{Jurisdictions: []string{"UK"}, UKGDPR: true}
	cases := []struct {
		name    string
		profile *Profile
		inc     func(*vigil.Incident)
		want    []string
	}{
		{"nothing", ukController, nil, nil},
		{"personal data", ukController, func(i *vigil.Incident) { i.PersonalData = true },
			[]string{"uk-gdpr/ico-notification/notification", "uk-gdpr/breach-register/entry"}},
		{"personal data, high severity: tell people too", ukController, func(i *vigil.Incident) { i.PersonalData = true; i.Severity = vigil.SeverityHigh },
			[]string{"uk-gdpr/data-subjects/communication", "uk-gdpr/ico-notification/notification", "uk-gdpr/breach-register/entry"}},
		{"personal data, not a controller", &Profile{Jurisdictions: []string{"UK"}}, func(i *vigil.Incident) { i.PersonalData = true }, nil},
		{"NIS OES, essential service hit", &Profile{Jurisdictions: []string{"UK"}, NISOES: true}, func(i *vigil.Incident) { i.EssentialService = true },
			[]string{"uk-nis/oes-notification/notification"}},
		{"NIS RDSP, digital service hit", &Profile{Jurisdictions: []string{"UK"}, NISRDSP: true}, func(i *vigil.Incident) { i.DigitalServiceImpact = true },
			[]string{"uk-nis/rdsp-notification/notification"}},
		// reg. 12 asks about the digital service, not an essential one.
		{"NIS RDSP, only an essential service flagged", &Profile{Jurisdictions: []string{"UK"}, NISRDSP: true}, func(i *vigil.Incident) { i.EssentialService = true }, nil},
		{"NIS OES, only a digital service flagged", &Profile{Jurisdictions: []string{"UK"}, NISOES: true}, func(i *vigil.Incident) { i.DigitalServiceImpact = true }, nil},
		{"NIS OES, service not hit", &Profile{Jurisdictions: []string{"UK"}, NISOES: true}, nil, nil},
		{"NIS2 significant", &Profile{NIS2: "important"}, func(i *vigil.Incident) { i.Significant = true },
			[]string{"eu-nis2/recipients/notice", "eu-nis2/significant-incident/early-warning", "eu-nis2/significant-incident/notification", "eu-nis2/significant-incident/final-report", "eu-nis2/significant-incident/intermediate"}},
		{"NIS2 category 3", &Profile{NIS2: "essential"}, func(i *vigil.Incident) { i.Category = 3 },
			[]string{"eu-nis2/recipients/notice", "eu-nis2/significant-incident/early-warning", "eu-nis2/significant-incident/notification", "eu-nis2/significant-incident/final-report", "eu-nis2/significant-incident/intermediate"}},
		{"NIS2 category unset is not significant", &Profile{NIS2: "essential"}, func(i *vigil.Incident) { i.Category = 0 }, nil},
		{"DORA major", &Profile{DORA: true}, func(i *vigil.Incident) { i.Significant = true },
			[]string{"eu-dora/clients/notice", "eu-dora/major-ict-incident/initial", "eu-dora/major-ict-incident/intermediate", "eu-dora/major-ict-incident/final", "eu-dora/major-ict-incident/updated-intermediate"}},
		{"DORA, not major", &Profile{DORA: true}, nil, nil},
		// A significant cyber threat: the clients told how to protect
		// themselves, and a notification the entity may choose to send.
		{"DORA, significant cyber threat", &Profile{DORA: true}, func(i *vigil.Incident) { i.SignificantCyberThreat = true },
			[]string{"eu-dora/threat-clients/notice", "eu-dora/cyber-threat/notification"}},
		{"DORA major, and a significant cyber threat", &Profile{DORA: true}, func(i *vigil.Incident) { i.Significant, i.SignificantCyberThreat = true, true },
			[]string{"eu-dora/clients/notice", "eu-dora/threat-clients/notice", "eu-dora/major-ict-incident/initial", "eu-dora/major-ict-incident/intermediate",
				"eu-dora/major-ict-incident/final", "eu-dora/major-ict-incident/updated-intermediate", "eu-dora/cyber-threat/notification"}},
		{"NIS2, significant cyber threat", &Profile{NIS2: "important"}, func(i *vigil.Incident) { i.SignificantCyberThreat = true },
			[]string{"eu-nis2/threat-recipients/notice"}},
		{"significant cyber threat, neither DORA nor NIS2", ukController, func(i *vigil.Incident) { i.SignificantCyberThreat = true }, nil},
		{"processor, personal data", &Profile{Jurisdictions: []string{"UK"}, UKGDPRProcessor: true}, func(i *vigil.Incident) { i.PersonalData = true },
			[]string{"uk-gdpr/controller-notification/notification"}},
		{"controller and processor, personal data", &Profile{Jurisdictions: []string{"UK"}, UKGDPR: true, UKGDPRProcessor: true}, func(i *vigil.Incident) { i.PersonalData = true },
			[]string{"uk-gdpr/controller-notification/notification", "uk-gdpr/ico-notification/notification", "uk-gdpr/breach-register/entry"}},
		{"processor, no personal data", &Profile{Jurisdictions: []string{"UK"}, UKGDPRProcessor: true}, nil, nil},
		{"NCSC category 2", &Profile{Jurisdictions: []string{"UK"}}, func(i *vigil.Incident) { i.Category = 2 },
			[]string{"uk-ncsc/report/report"}},
		{"NCSC flagged significant, outside the UK", &Profile{Jurisdictions: []string{"FR"}}, func(i *vigil.Incident) { i.Significant = true }, nil},
		{"crime in England", &Profile{Jurisdictions: []string{"UK"}}, func(i *vigil.Incident) { i.CrimeSuspected = true },
			[]string{"uk-crime/report-fraud/report"}},
		{"crime in Scotland", &Profile{Jurisdictions: []string{"UK-SCT"}}, func(i *vigil.Incident) { i.CrimeSuspected = true },
			[]string{"uk-crime/police-scotland/report"}},
		{"referred to Report Fraud", &Profile{Jurisdictions: []string{"UK"}}, func(i *vigil.Incident) { i.Status = vigil.StatusReportFraud },
			[]string{"uk-crime/report-fraud/report"}},
		{"referred to Report Fraud, in Scotland", &Profile{Jurisdictions: []string{"UK-SCT"}}, func(i *vigil.Incident) { i.Status = vigil.StatusReportFraud },
			[]string{"uk-crime/police-scotland/report"}},
		{"personal attack", &Profile{Jurisdictions: []string{"UK"}}, func(i *vigil.Incident) { i.Status = vigil.StatusPolice },
			[]string{"uk-crime/police/report"}},
		{"not an incident: nothing", ukController, func(i *vigil.Incident) { i.PersonalData = true; i.Status = vigil.StatusNotIncident }, nil},
		{"exercise: nothing", ukController, func(i *vigil.Incident) { i.PersonalData = true; i.Exercise = true }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obs, err := Evaluate(packs, c.profile, incident(c.inc), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := keys(obs)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("obligations\n got %v\nwant %v", got, c.want)
			}
			for _, o := range obs {
				if o.Why == "" || o.Basis == "" || o.Authority == "" {
					t.Errorf("%s lacks why, basis or authority: %+v", o.Key(), o)
				}
			}
		})
	}
}

func TestICODeadline(t *testing.T) {
	obs, _ := Evaluate(shippedPacks(t), &Profile{Jurisdictions: []string{"UK"}, UKGDPR: true}, incident(func(i *vigil.Incident) { i.PersonalData = true }), nil)
	ico := find(obs, "uk-gdpr/ico-notification/notification")
	if ico == nil || !ico.ClockStart.Equal(aware) || !ico.Due.Equal(aware.Add(72*time.Hour)) {
		t.Fatalf("ICO duty: %+v", ico)
	}
	if ico.MayWaive == "" || len(ico.Content) < 4 || !strings.Contains(ico.Why, "personal data") {
		t.Errorf("ICO duty lacks its waiver hint, content or reason: %+v", ico)
	}
	reg := find(obs, "uk-gdpr/breach-register/entry")
	if reg.Due != nil || !reg.Register {
		t.Errorf("register entry: %+v", reg)
	}
	// Awareness corrected backwards moves the deadline with it.
	earlier := aware.Add(-30 * time.Hour)
	obs, _ = Evaluate(shippedPacks(t), &Profile{UKGDPR: true}, incident(func(i *vigil.Incident) { i.PersonalData = true; i.Times.AwareAt = &earlier }), nil)
	if ico = find(obs, "uk-gdpr/ico-notification/notification"); !ico.Due.Equal(earlier.Add(72 * time.Hour)) {
		t.Errorf("after correcting awareness: due %v", ico.Due)
	}
	// With no awareness time, the clock starts at detection.
	obs, _ = Evaluate(shippedPacks(t), &Profile{UKGDPR: true}, incident(func(i *vigil.Incident) { i.PersonalData = true; i.Times.AwareAt = nil }), nil)
	if ico = find(obs, "uk-gdpr/ico-notification/notification"); !ico.ClockStart.Equal(aware.Add(-2 * time.Hour)) {
		t.Errorf("clock without awareness: %v", ico.ClockStart)
	}
}

// TestClocksAcrossDST: hours are exact whatever the clocks do; a month is
// the same wall time a calendar month later in the organisation's zone.
func TestClocksAcrossDST(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		start time.Time
		due   string
		want  time.Time
	}{
		// Clocks go forward at 01:00 UTC on 29 March 2026: 72 hours is
		// still 72 hours, which reads as 11:00 BST after a 10:00 GMT start.
		{"72h over the March change", time.Date(2026, 3, 28, 10, 0, 0, 0, london), "72h", time.Date(2026, 3, 31, 11, 0, 0, 0, london)},
		// Clocks go back at 01:00 UTC on 25 October 2026.
		{"72h over the October change", time.Date(2026, 10, 24, 10, 0, 0, 0, london), "72h", time.Date(2026, 10, 27, 9, 0, 0, 0, london)},
		{"24h across the March change", time.Date(2026, 3, 29, 0, 30, 0, 0, london), "24h", time.Date(2026, 3, 30, 1, 30, 0, 0, london)},
		// A month keeps the wall time across the change.
		{"1 month over the March change", time.Date(2026, 3, 15, 9, 0, 0, 0, london), "1 month", time.Date(2026, 4, 15, 9, 0, 0, 0, london)},
		{"1 month over the October change", time.Date(2026, 10, 10, 9, 0, 0, 0, london), "1 month", time.Date(2026, 11, 10, 9, 0, 0, 0, london)},
		// Month ends clamp: no 31 February, no 31 April.
		{"1 month from 31 January", time.Date(2026, 1, 31, 12, 0, 0, 0, london), "1 month", time.Date(2026, 2, 28, 12, 0, 0, 0, london)},
		{"1 month from 31 January, leap year", time.Date(2028, 1, 31, 12, 0, 0, 0, london), "1 month", time.Date(2028, 2, 29, 12, 0, 0, 0, london)},
		{"1 month from 31 March", time.Date(2026, 3, 31, 23, 30, 0, 0, london), "1 month", time.Date(2026, 4, 30, 23, 30, 0, 0, london)},
		{"1 month from 31 December", time.Date(2026, 12, 31, 8, 0, 0, 0, london), "1 month", time.Date(2027, 1, 31, 8, 0, 0, 0, london)},
		{"30 days is 720 hours", time.Date(2026, 3, 15, 9, 0, 0, 0, london), "30 days", time.Date(2026, 4, 14, 10, 0, 0, 0, london)},
	}
	for _, c := range cases {
		d, err := ParseDue(c.due)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := d.After(c.start.UTC(), london)
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s: %s in London, want %s", c.name, got.In(london), c.want)
		}
		if got.Location() != time.UTC {
			t.Errorf("%s: not in UTC", c.name)
		}
	}
}

// TestStageAfterSubmission: NIS2's final report is due a month after the
// notification was submitted, or after it was due until then.
func TestStageAfterSubmission(t *testing.T) {
	profile := &Profile{NIS2: "essential", Timezone: "Europe/Brussels"}
	inc := incident(func(i *vigil.Incident) { i.Significant = true })
	obs, _ := Evaluate(shippedPacks(t), profile, inc, nil)
	notif := find(obs, "eu-nis2/significant-incident/notification")
	final := find(obs, "eu-nis2/significant-incident/final-report")
	brussels, _ := time.LoadLocation("Europe/Brussels")
	if want := AddMonths(*notif.Due, 1, brussels); !final.Due.Equal(want) {
		t.Errorf("final before submission: %v, want %v", final.Due, want)
	}
	sent := aware.Add(20 * time.Hour)
	obs, _ = Evaluate(shippedPacks(t), profile, inc, Submitted{"eu-nis2/significant-incident/notification": sent})
	final = find(obs, "eu-nis2/significant-incident/final-report")
	if want := AddMonths(sent, 1, brussels); !final.Due.Equal(want) || !final.ClockStart.Equal(sent) {
		t.Errorf("final after submission: %v from %v, want %v", final.Due, final.ClockStart, want)
	}
	// Early warning first, then the notification, then the final report.
	if got := strings.Join(keys(obs), ","); !strings.Contains(got, "eu-nis2/significant-incident/early-warning,eu-nis2/significant-incident/notification,eu-nis2/significant-incident/final-report") {
		t.Errorf("order: %s", got)
	}
}

// TestIncomparable: a comparison that cannot be made matches nothing.
func TestIncomparable(t *testing.T) {
	pack, err := Parse([]byte(`{"id": "p", "name": "p", "basis": "b", "duties": [
		{"id": "cat", "title": "t", "authority": "a", "basis": "b", "clock": "aware_at", "when": {"fact": "category", "gte": 4}, "stages": [{"id": "s", "name": "s", "due": "asap"}]},
		{"id": "sev", "title": "t", "authority": "a", "basis": "b", "clock": "aware_at", "when": {"fact": "severity", "gte": "urgent"}, "stages": [{"id": "s", "name": "s", "due": "asap"}]},
		{"id": "sevcase", "title": "t", "authority": "a", "basis": "b", "clock": "aware_at", "when": {"fact": "severity", "gte": "High"}, "stages": [{"id": "s", "name": "s", "due": "asap"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	obs, _ := Evaluate([]*Pack{pack}, &Profile{}, incident(func(i *vigil.Incident) { i.Category = 0; i.Severity = vigil.SeverityLow }), nil)
	if len(obs) != 0 {
		t.Errorf("incomparable values matched: %v", keys(obs))
	}
	obs, _ = Evaluate([]*Pack{pack}, &Profile{}, incident(func(i *vigil.Incident) { i.Category = 5; i.Severity = vigil.SeverityCritical }), nil)
	if got := strings.Join(keys(obs), ","); got != "p/cat/s,p/sevcase/s" {
		t.Errorf("comparable values: %s", got)
	}
}

func TestPackValidation(t *testing.T) {
	bad := `{"id": "My Pack", "name": "", "basis": "", "duties": [
		{"id": "a", "title": "A", "authority": "X", "basis": "B", "clock": "whenever",
		 "when": {"fact": "colour", "eq": "red"},
		 "stages": [{"id": "s", "name": "S", "due": "soonish"}, {"id": "t", "name": "T", "due": "1 month", "after": "later"}]},
		{"id": "a", "title": "", "authority": "", "basis": "", "clock": "aware_at", "when": {"all": [{"fact": "personal_data"}]}, "stages": []}]}`
	_, err := Parse([]byte(bad))
	if vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("bad pack accepted: %v", err)
	}
	fields := map[string]bool{}
	for _, f := range vigil.ErrorFields(err) {
		fields[f.Field] = true
	}
	for _, want := range []string{"id", "name", "basis", "duties[0].clock", "duties[0].when.fact", "duties[0].stages[0].due",
		"duties[0].stages[1].after", "duties[1].id", "duties[1].title", "duties[1].stages", "duties[1].when.all[0]"} {
		if !fields[want] {
			t.Errorf("no problem reported at %s (got %v)", want, fields)
		}
	}
	if _, err := Parse([]byte(`{"id": "x", "unknown": 1}`)); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Errorf("unknown field: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	names, _ := shippedNames()
	for _, n := range names {
		b, _ := shipped.ReadFile(n)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","name":"x","basis":"x","duties":[{"id":"a","title":"a","authority":"a","basis":"b","clock":"aware_at","when":{"not":{"fact":"category","lte":3}},"stages":[{"id":"s","name":"s","due":"1 month"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		// A valid pack evaluates without failing, whatever the incident.
		for _, inc := range []*vigil.Incident{incident(nil), incident(func(i *vigil.Incident) {
			i.PersonalData, i.Significant, i.Category, i.Times = true, true, 1, vigil.IncidentTimes{}
		})} {
			if _, err := Evaluate([]*Pack{p}, &Profile{UKGDPR: true, NIS2: "essential", Jurisdictions: []string{"UK"}}, inc, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestDraft(t *testing.T) {
	inc := incident(func(i *vigil.Incident) {
		i.Reference, i.Title, i.Summary, i.PersonalData, i.Type = "INC-2026-000042", "Payroll file sent to the wrong firm", "A spreadsheet of 312 staff.", true, vigil.TypeDataBreach
	})
	obs, _ := Evaluate(shippedPacks(t), &Profile{UKGDPR: true, DPO: "Dana Patel, dpo@example.org"}, inc, nil)
	o := find(obs, "uk-gdpr/ico-notification/notification")
	vo := &vigil.Obligation{Title: o.Title, StageName: o.StageName, Authority: o.Authority, Basis: o.Basis, Source: o.Source, Content: o.Content,
		Contact: o.Contact, DueAt: o.Due}
	d := Draft(vo, inc, &Profile{Name: "Anytown Council", UKGDPR: true, DPO: "Dana Patel, dpo@example.org"},
		[]*vigil.Observable{{Type: vigil.ObsEmail, Value: "payroll@wrong.example", IOC: true, TLP: vigil.TLPAmber},
			{Type: vigil.ObsIPv4, Value: "203.0.113.1", IOC: true, TLP: vigil.TLPRed}})
	for _, want := range []string{"INC-2026-000042", "Payroll file sent to the wrong firm", "312 staff", "Personal data involved: yes",
		"Art. 33(3)(a)", "Basis: UK GDPR Art. 33(1)", "Source: <https://www.legislation.gov.uk/eur/2016/679/article/33>", "Dana Patel", "Anytown Council", "payroll@wrong.example", "Wednesday 10 June 2026, 15:30 BST"} {
		if !strings.Contains(d, want) {
			t.Errorf("draft lacks %q:\n%s", want, d)
		}
	}
	// TLP:RED indicators stay out of a report that leaves the organisation.
	if strings.Contains(d, "203.0.113.1") {
		t.Error("a TLP:RED indicator is in the draft")
	}
}

// TestDORAClassificationClock: DORA's initial notification is due 4 hours
// after the incident is classified as major, and at the latest 24 hours
// after awareness; the intermediate report follows from whichever applied.
func TestDORAClassificationClock(t *testing.T) {
	profile := &Profile{DORA: true}
	for _, c := range []struct {
		name       string
		classified *time.Time
		want       time.Time
		start      time.Time
	}{
		{"not yet classified", nil, aware.Add(24 * time.Hour), aware},
		{"classified 2 h after awareness", ptr(aware.Add(2 * time.Hour)), aware.Add(6 * time.Hour), aware.Add(2 * time.Hour)},
		{"classified 21 h after awareness", ptr(aware.Add(21 * time.Hour)), aware.Add(24 * time.Hour), aware},
	} {
		inc := incident(func(i *vigil.Incident) { i.Significant = true; i.Times.ClassifiedAt = c.classified })
		obs, err := Evaluate(shippedPacks(t), profile, inc, nil)
		if err != nil {
			t.Fatal(err)
		}
		initial := find(obs, "eu-dora/major-ict-incident/initial")
		inter := find(obs, "eu-dora/major-ict-incident/intermediate")
		if initial == nil || !initial.Due.Equal(c.want) || !initial.ClockStart.Equal(c.start) {
			t.Errorf("%s: initial due %v from %v, want %v from %v", c.name, initial.Due, initial.ClockStart, c.want, c.start)
			continue
		}
		if !inter.Due.Equal(c.want.Add(72 * time.Hour)) {
			t.Errorf("%s: intermediate due %v", c.name, inter.Due)
		}
	}
	bad := `{"id":"x","name":"X","version":1,"basis":"b","duties":[{"id":"d","title":"T","authority":"A","basis":"B","clock":"aware_at",
		"when":{"fact":"significant","eq":true},"stages":[{"id":"s","name":"S","due":"24h","sooner":{"clock":"lunch","due":"asap"}}]}]}`
	_, err := Parse([]byte(bad))
	for _, f := range []string{"duties[0].stages[0].sooner.clock", "duties[0].stages[0].sooner.due"} {
		if !slices.ContainsFunc(vigil.ErrorFields(err), func(fe vigil.FieldError) bool { return fe.Field == f }) {
			t.Errorf("bad sooner: no problem at %s: %v", f, vigil.ErrorFields(err))
		}
	}
}

// TestOldFraudNames: a pack written before Report Fraud replaced Action
// Fraud (4 December 2025) still matches a referred incident, and its
// contact role reads as the new one.
func TestOldFraudNames(t *testing.T) {
	pack, err := Parse([]byte(`{"id": "ours", "name": "Ours", "basis": "b", "duties": [
		{"id": "af", "title": "t", "authority": "a", "basis": "b", "clock": "aware_at", "contact": "action_fraud",
		 "when": {"fact": "status", "eq": "referred_action_fraud"}, "stages": [{"id": "s", "name": "s", "due": "asap"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	obs, _ := Evaluate([]*Pack{pack}, &Profile{}, incident(func(i *vigil.Incident) { i.Status = vigil.StatusReportFraud }), nil)
	if len(obs) != 1 || obs[0].Contact != string(vigil.ContactReportFraud) {
		t.Fatalf("old pack on a referred incident: %+v", obs)
	}
}

// TestEveryStageCited: every stage of every shipped pack cites the
// article or regulation it follows and links to the legal text or the
// regulator's guidance, on the official sites; the obligations carry both.
func TestEveryStageCited(t *testing.T) {
	official := []string{"eur-lex.europa.eu", "www.legislation.gov.uk", "ico.org.uk", "www.ncsc.gov.uk", "report.ncsc.gov.uk",
		"www.gov.uk", "www.reportfraud.police.uk", "www.scotland.police.uk", "www.police.uk"}
	for _, p := range shippedPacks(t) {
		if u := p.Uncited(); len(u) > 0 {
			t.Errorf("pack %s: stages without a citation: %v", p.ID, u)
		}
		for _, d := range p.Duties {
			for _, s := range d.Stages {
				u, err := url.Parse(s.Source)
				if err != nil || !slices.Contains(official, u.Host) {
					t.Errorf("%s/%s/%s: source %q is not on an official site", p.ID, d.ID, s.ID, s.Source)
				}
			}
		}
	}
	// An admin's pack may leave them out: its stages show the duty's basis.
	pack, err := Parse([]byte(`{"id": "ins", "name": "Insurer", "basis": "Policy", "duties": [{"id": "d", "title": "t", "authority": "a",
		"basis": "Clause 7.2", "clock": "aware_at", "when": {"fact": "crime_suspected", "eq": true},
		"stages": [{"id": "s", "name": "s", "due": "48h"}, {"id": "t", "name": "t", "due": "72h", "basis": "Clause 7.3", "source": "https://example.org/policy"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := pack.Uncited(); len(got) != 1 || got[0] != "duties[0].stages[0]" {
		t.Errorf("Uncited = %v", got)
	}
	obs, _ := Evaluate([]*Pack{pack}, &Profile{}, incident(func(i *vigil.Incident) { i.CrimeSuspected = true }), nil)
	if s, u := find(obs, "ins/d/s"), find(obs, "ins/d/t"); s.Basis != "Clause 7.2" || s.Source != "" || u.Basis != "Clause 7.3" || u.Source != "https://example.org/policy" {
		t.Errorf("citations: %+v %+v", s, u)
	}
	for _, bad := range []string{"javascript:alert(1)", "http://example.org/x", "//example.org", "https://user@example.org/"} {
		_, err := Parse([]byte(`{"id": "x", "name": "x", "basis": "b", "duties": [{"id": "d", "title": "t", "authority": "a", "basis": "b",
			"clock": "aware_at", "when": {"fact": "crime_suspected", "eq": true}, "stages": [{"id": "s", "name": "s", "due": "48h", "source": "` + bad + `"}]}]}`))
		if !slices.ContainsFunc(vigil.ErrorFields(err), func(fe vigil.FieldError) bool { return fe.Field == "duties[0].stages[0].source" }) {
			t.Errorf("source %q accepted: %v", bad, err)
		}
	}
}
