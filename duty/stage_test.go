package duty

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

// The zones the stage tests compute in: the default, and UTC for an
// organisation that keeps its books in it.
var (
	london = mustZone("Europe/London")
	utc    = time.UTC
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// wall reads a wall time in loc, "2006-01-02 15:04".
func wall(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// dueCheck compares a due time with the one worked out by hand, both as
// the instant in UTC and as the wall time the organisation reads.
func dueCheck(t *testing.T, what string, got *time.Time, loc *time.Location, wantWall, wantUTC string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no due time, want %s (%s UTC)", what, wantWall, wantUTC)
		return
	}
	if g := got.In(loc).Format("2006-01-02 15:04 MST"); g != wantWall {
		t.Errorf("%s: due %s, want %s", what, g, wantWall)
	}
	if g := got.UTC().Format("2006-01-02 15:04"); g != wantUTC {
		t.Errorf("%s: due %s UTC, want %s UTC", what, g, wantUTC)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: due time not in UTC", what)
	}
}

// TestDORALateClassification: the initial notification of a major
// incident is due 4 hours after classification and at the latest 24 hours
// after awareness (Delegated Regulation (EU) 2025/301 Art. 5(1)(a)); an
// incident classified as major only once those 24 hours have passed is
// due 4 hours after its classification (Art. 5(2)), not at a deadline
// already behind it. The intermediate report follows 72 hours after the
// initial notification's due time until that is submitted.
func TestDORALateClassification(t *testing.T) {
	packs := shippedPacks(t)
	cases := []struct {
		name        string
		loc         *time.Location
		aware       string // wall time in loc
		classified  string // wall time in loc; "" for not yet
		initial     [2]string
		intermediat [2]string
	}{
		// The contract: aware T, classified T+30h, initial due T+34h.
		{"classified 30 h after awareness", utc, "2026-06-10 14:30", "2026-06-11 20:30",
			[2]string{"2026-06-12 00:30 UTC", "2026-06-12 00:30"}, [2]string{"2026-06-15 00:30 UTC", "2026-06-15 00:30"}},
		{"classified 30 h after awareness, London", london, "2026-06-10 14:30", "2026-06-11 20:30",
			[2]string{"2026-06-12 00:30 BST", "2026-06-11 23:30"}, [2]string{"2026-06-15 00:30 BST", "2026-06-14 23:30"}},
		{"not yet classified", london, "2026-06-10 14:30", "",
			[2]string{"2026-06-11 14:30 BST", "2026-06-11 13:30"}, [2]string{"2026-06-14 14:30 BST", "2026-06-14 13:30"}},
		{"classified 2 h after awareness", utc, "2026-06-10 14:30", "2026-06-10 16:30",
			[2]string{"2026-06-10 20:30 UTC", "2026-06-10 20:30"}, [2]string{"2026-06-13 20:30 UTC", "2026-06-13 20:30"}},
		// Within the 24 hours the backstop holds, however close to it.
		{"classified 23 h 59 after awareness", utc, "2026-06-10 14:30", "2026-06-11 14:29",
			[2]string{"2026-06-11 14:30 UTC", "2026-06-11 14:30"}, [2]string{"2026-06-14 14:30 UTC", "2026-06-14 14:30"}},
		// At the deadline itself the 24 hours are over: 4 hours from then.
		{"classified exactly 24 h after awareness", utc, "2026-06-10 14:30", "2026-06-11 14:30",
			[2]string{"2026-06-11 18:30 UTC", "2026-06-11 18:30"}, [2]string{"2026-06-14 18:30 UTC", "2026-06-14 18:30"}},
		// Clocks go forward at 01:00 UTC on 29 March 2026: aware 12:00 GMT
		// on the 28th, classified 18:00 BST (17:00 UTC) on the 29th, 29
		// hours later; due 4 hours after that, 22:00 BST.
		{"late, over the March 2026 change", london, "2026-03-28 12:00", "2026-03-29 18:00",
			[2]string{"2026-03-29 22:00 BST", "2026-03-29 21:00"}, [2]string{"2026-04-01 22:00 BST", "2026-04-01 21:00"}},
		// Clocks go back at 01:00 UTC on 25 October 2026: aware 20:00 BST
		// (19:00 UTC) on the 24th, classified 21:00 GMT on the 25th, 26
		// hours later.
		{"late, over the October 2026 change", london, "2026-10-24 20:00", "2026-10-25 21:00",
			[2]string{"2026-10-26 01:00 GMT", "2026-10-26 01:00"}, [2]string{"2026-10-29 01:00 GMT", "2026-10-29 01:00"}},
		// Clocks go forward at 01:00 UTC on 28 March 2027: aware 23:30 GMT
		// on the 27th, classified an hour later (00:30 GMT): due 4 hours
		// on, 04:30 UTC, which reads 05:30 BST.
		{"early, over the March 2027 change", london, "2027-03-27 23:30", "2027-03-28 00:30",
			[2]string{"2027-03-28 05:30 BST", "2027-03-28 04:30"}, [2]string{"2027-03-31 05:30 BST", "2027-03-31 04:30"}},
		// 31 October 2027: aware 09:00 BST (08:00 UTC) on the 30th,
		// classified 10:00 GMT on the 31st, 26 hours later.
		{"late, over the October 2027 change", london, "2027-10-30 09:00", "2027-10-31 10:00",
			[2]string{"2027-10-31 14:00 GMT", "2027-10-31 14:00"}, [2]string{"2027-11-03 14:00 GMT", "2027-11-03 14:00"}},
		// Classified 23 hours after awareness across the October 2027
		// change: the backstop, 24 exact hours, reads 08:00 GMT.
		{"early, over the October 2027 change", london, "2027-10-30 09:00", "2027-10-31 07:00",
			[2]string{"2027-10-31 08:00 GMT", "2027-10-31 08:00"}, [2]string{"2027-11-03 08:00 GMT", "2027-11-03 08:00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aware := wall(c.loc, c.aware)
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.CreatedAt = true, ptr(aware), aware
				if c.classified != "" {
					i.Times.ClassifiedAt = ptr(wall(c.loc, c.classified))
				}
			})
			obs, err := Evaluate(packs, &Profile{DORA: true, Timezone: c.loc.String()}, inc, nil)
			if err != nil {
				t.Fatal(err)
			}
			initial := find(obs, "eu-dora/major-ict-incident/initial")
			if initial == nil {
				t.Fatal("no initial notification")
			}
			dueCheck(t, "initial", initial.Due, c.loc, c.initial[0], c.initial[1])
			dueCheck(t, "intermediate", find(obs, "eu-dora/major-ict-incident/intermediate").Due, c.loc, c.intermediat[0], c.intermediat[1])
		})
	}
}

// TestNIS2SignificantClock: NIS2's early warning (24 h) and incident
// notification (72 h) count from when the entity became aware that the
// incident is significant (Directive (EU) 2022/2555 Art. 23(4)(a), (b)):
// the classification time, never before awareness, and awareness until a
// classification is recorded. The final report is due one calendar month
// after the notification (Art. 23(4)(d)), the same wall time, clamped to
// the month's last day.
func TestNIS2SignificantClock(t *testing.T) {
	packs := shippedPacks(t)
	cases := []struct {
		name                string
		loc                 *time.Location
		aware, classified   string
		early, notif, final [2]string
	}{
		// Flagged significant five days in: not born overdue.
		{"classified five days after awareness", london, "2026-06-10 14:30", "2026-06-15 09:00",
			[2]string{"2026-06-16 09:00 BST", "2026-06-16 08:00"}, [2]string{"2026-06-18 09:00 BST", "2026-06-18 08:00"},
			[2]string{"2026-07-18 09:00 BST", "2026-07-18 08:00"}},
		{"classified five days after awareness, UTC", utc, "2026-06-10 14:30", "2026-06-15 09:00",
			[2]string{"2026-06-16 09:00 UTC", "2026-06-16 09:00"}, [2]string{"2026-06-18 09:00 UTC", "2026-06-18 09:00"},
			[2]string{"2026-07-18 09:00 UTC", "2026-07-18 09:00"}},
		{"no classification recorded: awareness", london, "2026-06-10 14:30", "",
			[2]string{"2026-06-11 14:30 BST", "2026-06-11 13:30"}, [2]string{"2026-06-13 14:30 BST", "2026-06-13 13:30"},
			[2]string{"2026-07-13 14:30 BST", "2026-07-13 13:30"}},
		{"classified before awareness: awareness", utc, "2026-06-10 14:30", "2026-06-09 08:00",
			[2]string{"2026-06-11 14:30 UTC", "2026-06-11 14:30"}, [2]string{"2026-06-13 14:30 UTC", "2026-06-13 14:30"},
			[2]string{"2026-07-13 14:30 UTC", "2026-07-13 14:30"}},
		// 29 March 2026: 24 and 72 exact hours from 10:00 GMT read 11:00
		// BST; the month keeps the wall time.
		{"over the March 2026 change", london, "2026-03-27 16:00", "2026-03-28 10:00",
			[2]string{"2026-03-29 11:00 BST", "2026-03-29 10:00"}, [2]string{"2026-03-31 11:00 BST", "2026-03-31 10:00"},
			[2]string{"2026-04-30 11:00 BST", "2026-04-30 10:00"}},
		{"31 March to 30 April, UTC", utc, "2026-03-27 16:00", "2026-03-28 10:00",
			[2]string{"2026-03-29 10:00 UTC", "2026-03-29 10:00"}, [2]string{"2026-03-31 10:00 UTC", "2026-03-31 10:00"},
			[2]string{"2026-04-30 10:00 UTC", "2026-04-30 10:00"}},
		// 25 October 2026: from 10:00 BST (09:00 UTC) the hours read 09:00 GMT.
		{"over the October 2026 change", london, "2026-10-24 08:00", "2026-10-24 10:00",
			[2]string{"2026-10-25 09:00 GMT", "2026-10-25 09:00"}, [2]string{"2026-10-27 09:00 GMT", "2026-10-27 09:00"},
			[2]string{"2026-11-27 09:00 GMT", "2026-11-27 09:00"}},
		// Notification due 31 January: the final report on 28 February,
		// 29 February in a leap year.
		{"31 January to 28 February", london, "2027-01-28 08:00", "2027-01-28 18:00",
			[2]string{"2027-01-29 18:00 GMT", "2027-01-29 18:00"}, [2]string{"2027-01-31 18:00 GMT", "2027-01-31 18:00"},
			[2]string{"2027-02-28 18:00 GMT", "2027-02-28 18:00"}},
		{"31 January to 29 February, leap year", utc, "2028-01-28 08:00", "2028-01-28 18:00",
			[2]string{"2028-01-29 18:00 UTC", "2028-01-29 18:00"}, [2]string{"2028-01-31 18:00 UTC", "2028-01-31 18:00"},
			[2]string{"2028-02-29 18:00 UTC", "2028-02-29 18:00"}},
		// 28 March 2027.
		{"over the March 2027 change", london, "2027-03-27 08:00", "2027-03-27 09:00",
			[2]string{"2027-03-28 10:00 BST", "2027-03-28 09:00"}, [2]string{"2027-03-30 10:00 BST", "2027-03-30 09:00"},
			[2]string{"2027-04-30 10:00 BST", "2027-04-30 09:00"}},
		// 31 October 2027: the early warning before the change, the
		// notification after it; the month from 1 November lands on 1 December.
		{"over the October 2027 change", london, "2027-10-29 11:00", "2027-10-29 12:00",
			[2]string{"2027-10-30 12:00 BST", "2027-10-30 11:00"}, [2]string{"2027-11-01 11:00 GMT", "2027-11-01 11:00"},
			[2]string{"2027-12-01 11:00 GMT", "2027-12-01 11:00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aware := wall(c.loc, c.aware)
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.CreatedAt = true, ptr(aware), aware
				if c.classified != "" {
					i.Times.ClassifiedAt = ptr(wall(c.loc, c.classified))
				}
			})
			obs, err := Evaluate(packs, &Profile{NIS2: "essential", Timezone: c.loc.String()}, inc, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []struct {
				key  string
				want [2]string
			}{{"early-warning", c.early}, {"notification", c.notif}, {"final-report", c.final}} {
				o := find(obs, "eu-nis2/significant-incident/"+s.key)
				if o == nil {
					t.Fatalf("no %s", s.key)
				}
				dueCheck(t, s.key, o.Due, c.loc, s.want[0], s.want[1])
			}
		})
	}
}

// TestAddMonths: "within one month" is the same wall time on the same day
// of the month in the organisation's zone, clamped to the month's last
// day; on a day the clocks change, the first instant the clocks show that
// time or a later one. Worked out by hand, in Europe/London and UTC.
func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		name    string
		loc     *time.Location
		start   string // wall time in loc
		months  int
		wall    string // wall time in loc, with the zone's abbreviation
		wantUTC string
	}{
		{"31 January to 28 February", london, "2026-01-31 12:00", 1, "2026-02-28 12:00 GMT", "2026-02-28 12:00"},
		{"31 January to 28 February, 2027", london, "2027-01-31 09:15", 1, "2027-02-28 09:15 GMT", "2027-02-28 09:15"},
		{"31 January to 29 February, leap year", london, "2028-01-31 12:00", 1, "2028-02-29 12:00 GMT", "2028-02-29 12:00"},
		{"30 January to 29 February, leap year", london, "2028-01-30 12:00", 1, "2028-02-29 12:00 GMT", "2028-02-29 12:00"},
		{"29 January to 28 February", london, "2027-01-29 12:00", 1, "2027-02-28 12:00 GMT", "2027-02-28 12:00"},
		{"29 February to 29 March, over the change", london, "2028-02-29 18:00", 1, "2028-03-29 18:00 BST", "2028-03-29 17:00"},
		{"28 February to 28 March, the day before the change", london, "2026-02-28 10:00", 1, "2026-03-28 10:00 GMT", "2026-03-28 10:00"},
		{"31 March to 30 April", london, "2026-03-31 23:30", 1, "2026-04-30 23:30 BST", "2026-04-30 22:30"},
		{"31 May to 30 June", london, "2026-05-31 08:00", 1, "2026-06-30 08:00 BST", "2026-06-30 07:00"},
		{"31 August to 30 September", london, "2026-08-31 17:45", 1, "2026-09-30 17:45 BST", "2026-09-30 16:45"},
		{"30 September to 30 October, over the change", london, "2026-09-30 23:30", 1, "2026-10-30 23:30 GMT", "2026-10-30 23:30"},
		{"31 October to 30 November", london, "2026-10-31 12:00", 1, "2026-11-30 12:00 GMT", "2026-11-30 12:00"},
		{"31 December to 31 January", london, "2026-12-31 08:00", 1, "2027-01-31 08:00 GMT", "2027-01-31 08:00"},
		// 01:30 does not exist on 29 March 2026 or 28 March 2027: due when
		// the clocks go forward at 01:00 GMT.
		{"a skipped wall time, 2026", london, "2026-01-29 01:30", 2, "2026-03-29 02:00 BST", "2026-03-29 01:00"},
		{"a skipped wall time, 2027", london, "2027-02-28 01:30", 1, "2027-03-28 02:00 BST", "2027-03-28 01:00"},
		// 01:30 happens twice on 25 October 2026 and 31 October 2027: the
		// first, in BST.
		{"a repeated wall time, 2026", london, "2026-09-25 01:30", 1, "2026-10-25 01:30 BST", "2026-10-25 00:30"},
		{"a repeated wall time, 2027", london, "2027-08-31 01:30", 2, "2027-10-31 01:30 BST", "2027-10-31 00:30"},
		{"the hour after the repeat", london, "2027-08-31 02:30", 2, "2027-10-31 02:30 GMT", "2027-10-31 02:30"},
		{"31 January to 28 February, UTC", utc, "2026-01-31 12:00", 1, "2026-02-28 12:00 UTC", "2026-02-28 12:00"},
		{"31 January to 29 February, leap year, UTC", utc, "2028-01-31 23:59", 1, "2028-02-29 23:59 UTC", "2028-02-29 23:59"},
		{"01:30 on London's change day, UTC", utc, "2026-01-29 01:30", 2, "2026-03-29 01:30 UTC", "2026-03-29 01:30"},
		{"31 March to 30 April, UTC", utc, "2027-03-31 00:00", 1, "2027-04-30 00:00 UTC", "2027-04-30 00:00"},
	} {
		got := AddMonths(wall(c.loc, c.start).UTC(), c.months, c.loc)
		dueCheck(t, c.name, &got, c.loc, c.wall, c.wantUTC)
	}
}

// TestNIS2TrustService: a trust service provider notifies a significant
// incident within 24 hours of becoming aware of it, not 72 (NIS2 Art.
// 23(4), second subparagraph); the final report follows a month after.
func TestNIS2TrustService(t *testing.T) {
	packs := shippedPacks(t)
	for _, c := range []struct {
		name         string
		loc          *time.Location
		tsp          bool
		classified   string
		notif, final [2]string
	}{
		{"trust service provider, over the March 2026 change", london, true, "2026-03-28 10:00",
			[2]string{"2026-03-29 11:00 BST", "2026-03-29 10:00"}, [2]string{"2026-04-29 11:00 BST", "2026-04-29 10:00"}},
		{"other entity, over the March 2026 change", london, false, "2026-03-28 10:00",
			[2]string{"2026-03-31 11:00 BST", "2026-03-31 10:00"}, [2]string{"2026-04-30 11:00 BST", "2026-04-30 10:00"}},
		{"trust service provider, over the October 2027 change", london, true, "2027-10-30 12:00",
			[2]string{"2027-10-31 11:00 GMT", "2027-10-31 11:00"}, [2]string{"2027-11-30 11:00 GMT", "2027-11-30 11:00"}},
		{"trust service provider, UTC, month end", utc, true, "2027-01-30 12:00",
			[2]string{"2027-01-31 12:00 UTC", "2027-01-31 12:00"}, [2]string{"2027-02-28 12:00 UTC", "2027-02-28 12:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			classified := wall(c.loc, c.classified)
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.Times.ClassifiedAt = true, ptr(classified.Add(-time.Hour)), ptr(classified)
			})
			obs, err := Evaluate(packs, &Profile{NIS2: "essential", NIS2TrustService: c.tsp, Timezone: c.loc.String()}, inc, nil)
			if err != nil {
				t.Fatal(err)
			}
			dueCheck(t, "notification", find(obs, "eu-nis2/significant-incident/notification").Due, c.loc, c.notif[0], c.notif[1])
			dueCheck(t, "final report", find(obs, "eu-nis2/significant-incident/final-report").Due, c.loc, c.final[0], c.final[1])
		})
	}
}

// TestCSRBill: the Cyber Security and Resilience Bill pack is marked as a
// bill and is off unless the profile says to follow it; then a regulated
// organisation owes its regulator an initial notification within 24 hours
// and a full report within 72, the NCSC the same at the same time, and a
// digital or managed service provider its customers a notice.
func TestCSRBill(t *testing.T) {
	packs := shippedPacks(t)
	var bill *Pack
	for _, p := range packs {
		if p.ID == "uk-csr-bill" {
			bill = p
		}
	}
	if bill == nil || bill.Status != "bill" || !strings.Contains(bill.Name, "not yet law") {
		t.Fatalf("the bill's pack is not marked as a bill: %+v", bill)
	}
	for _, d := range bill.Duties {
		for _, s := range d.Stages {
			if !strings.Contains(s.Basis, "not yet law") {
				t.Errorf("%s/%s cites the bill without saying it is not law: %q", d.ID, s.ID, s.Basis)
			}
		}
	}
	aware := wall(london, "2026-10-24 10:00") // BST; the clocks go back the next night
	inc := incident(func(i *vigil.Incident) {
		i.EssentialService, i.DigitalServiceImpact, i.Times.AwareAt = true, true, ptr(aware)
	})
	billKeys := func(obs []*Obligation) []string {
		var out []string
		for _, k := range keys(obs) {
			if strings.HasPrefix(k, "uk-csr-bill/") {
				out = append(out, k)
			}
		}
		return out
	}
	// Off by default, and for an organisation the bill would not regulate.
	for _, p := range []*Profile{vigil.DefaultOrgProfile(), {Jurisdictions: []string{"UK"}, NISOES: true, NISRDSP: true},
		{Jurisdictions: []string{"UK"}, UKCSRBill: true}} {
		obs, _ := Evaluate(packs, p, inc, nil)
		if got := billKeys(obs); len(got) != 0 {
			t.Errorf("profile %+v: bill duties %v", p, got)
		}
	}
	obs, err := Evaluate(packs, &Profile{Jurisdictions: []string{"UK"}, NISRDSP: true, UKCSRBill: true}, inc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "uk-csr-bill/customers/notice,uk-csr-bill/regulator/initial,uk-csr-bill/ncsc/initial,uk-csr-bill/regulator/full,uk-csr-bill/ncsc/full"
	if got := strings.Join(billKeys(obs), ","); got != want {
		t.Errorf("bill duties\n got %s\nwant %s", got, want)
	}
	for _, who := range []string{"regulator", "ncsc"} {
		dueCheck(t, who+" initial", find(obs, "uk-csr-bill/"+who+"/initial").Due, london, "2026-10-25 09:00 GMT", "2026-10-25 09:00")
		dueCheck(t, who+" full", find(obs, "uk-csr-bill/"+who+"/full").Due, london, "2026-10-27 09:00 GMT", "2026-10-27 09:00")
	}
	// An operator of essential services has no customers' notice under it.
	obs, _ = Evaluate(packs, &Profile{Jurisdictions: []string{"UK"}, NISOES: true, UKCSRBill: true, Timezone: "UTC"}, inc, nil)
	if find(obs, "uk-csr-bill/customers/notice") != nil || find(obs, "uk-csr-bill/regulator/initial") == nil {
		t.Errorf("OES under the bill: %v", billKeys(obs))
	}
	dueCheck(t, "OES initial, UTC", find(obs, "uk-csr-bill/regulator/initial").Due, utc, "2026-10-25 09:00 UTC", "2026-10-25 09:00")
}

// TestNIS2ProgressReport: an incident still ongoing when its final report
// is due gets a progress report then, and a final report within one month
// of the end of its handling (NIS2 Art. 23(4)(e)); the intermediate report
// is there to be opened on request (Art. 23(4)(c)), with no due time of
// its own. Classified 10:00 BST on 20 September 2026: notification due
// 23 September, final (or progress) report 23 October, 10:00 BST.
func TestNIS2ProgressReport(t *testing.T) {
	packs := shippedPacks(t)
	const key = "eu-nis2/significant-incident/"
	for _, c := range []struct {
		name      string
		loc       *time.Location
		recovered string // wall time in loc, or ""
		closed    string
		submitted map[string]string // stage -> wall time in loc
		after     [2]string         // the final report after handling; "" for none
	}{
		{"still ongoing", london, "", "", nil, [2]string{}},
		{"handled before the final report is due", london, "2026-10-10 12:00", "", nil, [2]string{}},
		{"handled after the final report was due", london, "2026-11-05 14:00", "", nil,
			[2]string{"2026-12-05 14:00 GMT", "2026-12-05 14:00"}},
		// A progress report sent early: ongoing at its submission, so the
		// final report counts from the handling, over the October change.
		{"handled after an early progress report", london, "2026-10-22 12:00", "", map[string]string{"final-report": "2026-10-20 10:00"},
			[2]string{"2026-11-22 12:00 GMT", "2026-11-22 12:00"}},
		{"handled after an early progress report, UTC", utc, "2026-10-22 12:00", "", map[string]string{"final-report": "2026-10-20 10:00"},
			[2]string{"2026-11-22 12:00 UTC", "2026-11-22 12:00"}},
		// Closed without a recovery time: the handling ended at closing;
		// 31 January gives 28 February.
		{"closed at the end of January", london, "", "2027-01-31 16:00", nil, [2]string{"2027-02-28 16:00 GMT", "2027-02-28 16:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			classified := wall(c.loc, "2026-09-20 10:00")
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.Times.ClassifiedAt = true, ptr(classified), ptr(classified)
				if c.recovered != "" {
					i.Times.RecoveredAt = ptr(wall(c.loc, c.recovered))
				}
				if c.closed != "" {
					i.Times.ClosedAt = ptr(wall(c.loc, c.closed))
				}
			})
			sub := Submitted{}
			for st, w := range c.submitted {
				sub[key+st] = wall(c.loc, w).UTC()
			}
			obs, err := Evaluate(packs, &Profile{NIS2: "important", Timezone: c.loc.String()}, inc, sub)
			if err != nil {
				t.Fatal(err)
			}
			if c.submitted == nil {
				want := map[*time.Location][2]string{london: {"2026-10-23 10:00 BST", "2026-10-23 09:00"}, utc: {"2026-10-23 10:00 UTC", "2026-10-23 10:00"}}[c.loc]
				dueCheck(t, "final or progress report", find(obs, key+"final-report").Due, c.loc, want[0], want[1])
			}
			if in := find(obs, key+"intermediate"); in == nil || !in.OnRequest || in.Due != nil {
				t.Errorf("intermediate report on request: %+v", in)
			}
			o := find(obs, key+"final-after-handling")
			if c.after[0] == "" {
				if o != nil {
					t.Errorf("final report after handling, due %v, for an incident not ongoing at the final report", o.Due)
				}
				return
			}
			if o == nil {
				t.Fatal("no final report after handling")
			}
			dueCheck(t, "final report after handling", o.Due, c.loc, c.after[0], c.after[1])
		})
	}
}

// TestDORAUpdatedReports: an updated intermediate report is owed when
// regular activities are recovered, and may be opened on a significant
// change; the final report is due one month after the latest intermediate
// report submitted (Delegated Regulation (EU) 2025/301 Art. 5(1)(b), (c)).
// Aware 09:00 GMT on 27 March 2026, classified at 10:00, the initial
// notification sent at 13:00: the intermediate report is due 72 hours
// later, 14:00 BST on 30 March, over the change.
func TestDORAUpdatedReports(t *testing.T) {
	packs := shippedPacks(t)
	const key = "eu-dora/major-ict-incident/"
	for _, c := range []struct {
		name      string
		recovered string
		submitted map[string]string // stage -> wall time in London
		final     [2]string
	}{
		{"nothing after the initial notification", "", nil, [2]string{"2026-04-30 14:00 BST", "2026-04-30 13:00"}},
		{"intermediate report sent", "", map[string]string{"intermediate": "2026-03-29 10:00"}, [2]string{"2026-04-29 10:00 BST", "2026-04-29 09:00"}},
		{"an update on a significant change", "", map[string]string{"intermediate": "2026-03-29 10:00", "updated-intermediate": "2026-04-10 17:00"},
			[2]string{"2026-05-10 17:00 BST", "2026-05-10 16:00"}},
		{"the update on recovery, the latest", "2026-04-12 08:00", map[string]string{"intermediate": "2026-03-29 10:00",
			"updated-intermediate": "2026-04-10 17:00", "recovered-update": "2026-04-20 09:00"}, [2]string{"2026-05-20 09:00 BST", "2026-05-20 08:00"}},
		// An update sent before another one: the latest counts.
		{"the update on a significant change, the latest", "2026-04-12 08:00", map[string]string{"intermediate": "2026-03-29 10:00",
			"recovered-update": "2026-04-12 09:00", "updated-intermediate": "2026-04-30 23:30"}, [2]string{"2026-05-30 23:30 BST", "2026-05-30 22:30"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			aware := wall(london, "2026-03-27 09:00")
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.Times.ClassifiedAt = true, ptr(aware), ptr(aware.Add(time.Hour))
				if c.recovered != "" {
					i.Times.RecoveredAt = ptr(wall(london, c.recovered))
				}
			})
			sub := Submitted{key + "initial": wall(london, "2026-03-27 13:00").UTC()}
			for st, w := range c.submitted {
				sub[key+st] = wall(london, w).UTC()
			}
			obs, err := Evaluate(packs, &Profile{DORA: true}, inc, sub)
			if err != nil {
				t.Fatal(err)
			}
			dueCheck(t, "intermediate", find(obs, key+"intermediate").Due, london, "2026-03-30 14:00 BST", "2026-03-30 13:00")
			dueCheck(t, "final", find(obs, key+"final").Due, london, c.final[0], c.final[1])
			if up := find(obs, key+"updated-intermediate"); up == nil || !up.OnRequest {
				t.Errorf("updated intermediate report on a significant change: %+v", up)
			}
			rec := find(obs, key+"recovered-update")
			if (rec != nil) != (c.recovered != "") || rec != nil && (!rec.ASAP || !rec.ClockStart.Equal(wall(london, c.recovered))) {
				t.Errorf("update on recovery: %+v", rec)
			}
		})
	}
}

// TestDORAVoluntaryThreat: a DORA financial entity may notify a
// significant cyber threat to its competent authority (DORA Art. 19(2)):
// the stage is listed as voluntary, with no due time, so it is never late
// and never asked for; it cites the article, the content the RTS sets
// (Delegated Regulation (EU) 2025/301 Art. 6) and the template (Implementing
// Regulation (EU) 2025/302 Art. 8). The clients potentially affected are
// told of the protection measures, where applicable, as soon as possible
// (Art. 19(3), second subparagraph).
func TestDORAVoluntaryThreat(t *testing.T) {
	packs := shippedPacks(t)
	aware := wall(london, "2026-10-24 23:30")
	inc := incident(func(i *vigil.Incident) { i.SignificantCyberThreat, i.Times.AwareAt = true, ptr(aware) })
	obs, err := Evaluate(packs, &Profile{DORA: true, Jurisdictions: []string{"IE"}, Timezone: "Europe/Dublin"}, inc, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := find(obs, "eu-dora/cyber-threat/notification")
	if n == nil || !n.Voluntary || n.Due != nil || n.ASAP || n.Register || n.OnRequest || !n.ClockStart.Equal(aware.UTC()) {
		t.Fatalf("voluntary notification: %+v", n)
	}
	for _, want := range []string{"DORA Art. 19(2)", "2025/301 Art. 6", "2025/302 Art. 8"} {
		if !strings.Contains(n.Basis, want) {
			t.Errorf("basis %q lacks %q", n.Basis, want)
		}
	}
	if n.MayWaive == "" || len(n.Content) < 5 || n.Contact != "competent_authority" {
		t.Errorf("voluntary notification lacks its hint, content or contact: %+v", n)
	}
	c := find(obs, "eu-dora/threat-clients/notice")
	if c == nil || !c.ASAP || c.Voluntary || c.MayWaive == "" || !strings.Contains(c.Basis, "Art. 19(3), second subparagraph") {
		t.Errorf("clients of a significant cyber threat: %+v", c)
	}
	// Exercises owe nothing and offer nothing.
	inc.Exercise = true
	if obs, _ := Evaluate(packs, &Profile{DORA: true}, inc, nil); len(obs) != 0 {
		t.Errorf("an exercise: %v", keys(obs))
	}
}

// TestVoluntaryStageValidation: a voluntary stage has no deadline, so it
// takes none of the timing of the others; only voluntary and on-request
// stages may leave due out.
func TestVoluntaryStageValidation(t *testing.T) {
	pack := func(stage string) error {
		_, err := Parse([]byte(`{"id": "x", "name": "x", "basis": "b", "duties": [{"id": "d", "title": "t", "authority": "a", "basis": "b",
			"clock": "aware_at", "when": {"fact": "significant_cyber_threat", "eq": true},
			"stages": [{"id": "first", "name": "f", "due": "24h"}, ` + stage + `]}]}`))
		return err
	}
	has := func(err error, field string) bool {
		for _, fe := range vigil.ErrorFields(err) {
			if fe.Field == field {
				return true
			}
		}
		return false
	}
	for _, ok := range []string{`{"id": "v", "name": "v", "voluntary": true}`, `{"id": "v", "name": "v", "voluntary": true, "clock": "classified_at"}`,
		`{"id": "r", "name": "r", "on_request": true}`} {
		if err := pack(ok); err != nil {
			t.Errorf("%s refused: %v %v", ok, err, vigil.ErrorFields(err))
		}
	}
	for _, c := range []struct{ stage, field string }{
		{`{"id": "v", "name": "v", "voluntary": true, "after": "first"}`, "duties[0].stages[1].voluntary"},
		{`{"id": "v", "name": "v", "voluntary": true, "on_request": true}`, "duties[0].stages[1].voluntary"},
		{`{"id": "v", "name": "v", "voluntary": true, "sooner": {"clock": "aware_at", "due": "4h"}}`, "duties[0].stages[1].voluntary"},
		{`{"id": "v", "name": "v"}`, "duties[0].stages[1].due"},
	} {
		if err := pack(c.stage); !has(err, c.field) {
			t.Errorf("%s: %v %v, want a problem at %s", c.stage, err, vigil.ErrorFields(err), c.field)
		}
	}
}

// TestDORAWeekendRelief: an entity that takes up the relief of Delegated
// Regulation (EU) 2025/301 Art. 5(4) in its profile may submit a report
// whose deadline falls on a weekend day or on one of its bank holidays by
// noon of the next working day; Art. 5(5) leaves it the final report only
// where the profile says "final". Off by default: every deadline strict.
// Worked out by hand, in Europe/London and UTC, across the changes of
// 2026 and 2027 and at month ends.
func TestDORAWeekendRelief(t *testing.T) {
	packs := shippedPacks(t)
	const key = "eu-dora/major-ict-incident/"
	for _, c := range []struct {
		name     string
		loc      *time.Location
		relief   string
		holidays []string
		stage    string // initial: from the classification; intermediate: from the initial's submission; final: from the intermediate's
		from     string // wall time in loc
		strict   string // the strict deadline, wall time in loc; "" when the relief does not move it
		due      [2]string
	}{
		// Classified 06:00 GMT on Saturday 28 March 2026: due 10:00 GMT,
		// moved to Monday noon, after the clocks went forward.
		{"initial on a Saturday, over the March 2026 change", london, "all", nil, "initial", "2026-03-28 06:00", "2026-03-28 10:00 GMT",
			[2]string{"2026-03-30 12:00 BST", "2026-03-30 11:00"}},
		{"initial on a Saturday, strict by default", london, "", nil, "initial", "2026-03-28 06:00", "",
			[2]string{"2026-03-28 10:00 GMT", "2026-03-28 10:00"}},
		{"initial on a Saturday, relief for final reports only", london, "final", nil, "initial", "2026-03-28 06:00", "",
			[2]string{"2026-03-28 10:00 GMT", "2026-03-28 10:00"}},
		{"initial on a Tuesday", london, "all", nil, "initial", "2026-06-09 10:00", "", [2]string{"2026-06-09 14:00 BST", "2026-06-09 13:00"}},
		// The boundary: 23:59 on Friday is a working day; midnight is Saturday.
		{"initial at 23:59 on a Friday", london, "all", nil, "initial", "2026-10-23 19:59", "", [2]string{"2026-10-23 23:59 BST", "2026-10-23 22:59"}},
		{"initial at midnight into Saturday, over the October 2026 change", london, "all", nil, "initial", "2026-10-23 20:00", "2026-10-24 00:00 BST",
			[2]string{"2026-10-26 12:00 GMT", "2026-10-26 12:00"}},
		{"initial on a Saturday, UTC", utc, "all", nil, "initial", "2026-06-12 22:00", "2026-06-13 02:00 UTC", [2]string{"2026-06-15 12:00 UTC", "2026-06-15 12:00"}},
		// Christmas 2026: Friday 25th, and Monday 28th for Boxing Day;
		// the bank holidays are the profile's own.
		{"initial on Christmas Day", london, "all", []string{"2026-12-25", "2026-12-28"}, "initial", "2026-12-24 22:00", "2026-12-25 02:00 GMT",
			[2]string{"2026-12-29 12:00 GMT", "2026-12-29 12:00"}},
		{"initial on Christmas Day, no bank holidays in the profile", london, "all", nil, "initial", "2026-12-24 22:00", "",
			[2]string{"2026-12-25 02:00 GMT", "2026-12-25 02:00"}},
		// 72 hours from 09:00 BST on Thursday 22 October 2026 is 08:00
		// GMT on Sunday 25th, the day the clocks go back.
		{"intermediate on the October 2026 change day", london, "all", nil, "intermediate", "2026-10-22 09:00", "2026-10-25 08:00 GMT",
			[2]string{"2026-10-26 12:00 GMT", "2026-10-26 12:00"}},
		// Easter 2027: Saturday 27 March, the change on Sunday 28th,
		// Easter Monday a bank holiday.
		{"intermediate at Easter, over the March 2027 change", london, "all", []string{"2027-03-26", "2027-03-29"}, "intermediate", "2027-03-24 09:00",
			"2027-03-27 09:00 GMT", [2]string{"2027-03-30 12:00 BST", "2027-03-30 11:00"}},
		{"intermediate at Easter, relief for final reports only", london, "final", []string{"2027-03-26", "2027-03-29"}, "intermediate", "2027-03-24 09:00",
			"", [2]string{"2027-03-27 09:00 GMT", "2027-03-27 09:00"}},
		// 31 January 2027 + 1 month is Sunday 28 February.
		{"final at the end of February, relief for final reports only", london, "final", nil, "final", "2027-01-31 15:00", "2027-02-28 15:00 GMT",
			[2]string{"2027-03-01 12:00 GMT", "2027-03-01 12:00"}},
		{"final at the end of February, strict", london, "", nil, "final", "2027-01-31 15:00", "", [2]string{"2027-02-28 15:00 GMT", "2027-02-28 15:00"}},
		// 2028 is a leap year: 31 January gives Tuesday 29 February, a
		// working day; 27 January gives Sunday 27 February.
		{"final on 29 February 2028, UTC", utc, "all", nil, "final", "2028-01-31 15:00", "", [2]string{"2028-02-29 15:00 UTC", "2028-02-29 15:00"}},
		{"final on Sunday 27 February 2028, UTC", utc, "all", nil, "final", "2028-01-27 15:00", "2028-02-27 15:00 UTC",
			[2]string{"2028-02-28 12:00 UTC", "2028-02-28 12:00"}},
		// Saturday 30 October 2027, the clocks going back on Sunday 31st.
		{"final on the Saturday before the October 2027 change", london, "all", nil, "final", "2027-09-30 18:00", "2027-10-30 18:00 BST",
			[2]string{"2027-11-01 12:00 GMT", "2027-11-01 12:00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			from := wall(c.loc, c.from)
			sub := Submitted{}
			var aware time.Time
			switch c.stage {
			case "initial":
				aware = from
			case "intermediate":
				aware = from.Add(-2 * time.Hour)
				sub[key+"initial"] = from.UTC()
			case "final":
				aware = from.Add(-5 * 24 * time.Hour)
				sub[key+"initial"], sub[key+"intermediate"] = aware.Add(3*time.Hour).UTC(), from.UTC()
			}
			inc := incident(func(i *vigil.Incident) {
				i.Significant, i.Times.AwareAt, i.Times.ClassifiedAt, i.CreatedAt = true, ptr(aware), ptr(aware), aware
			})
			profile := &Profile{DORA: true, Timezone: c.loc.String(), DORAWeekendRelief: c.relief, BankHolidays: c.holidays}
			obs, err := Evaluate(packs, profile, inc, sub)
			if err != nil {
				t.Fatal(err)
			}
			o := find(obs, key+c.stage)
			if o == nil {
				t.Fatalf("no %s", c.stage)
			}
			dueCheck(t, c.stage, o.Due, c.loc, c.due[0], c.due[1])
			switch {
			case c.strict == "" && o.StrictDue != nil:
				t.Errorf("moved from %v, want not moved", o.StrictDue)
			case c.strict != "" && (o.StrictDue == nil || o.StrictDue.In(c.loc).Format("2006-01-02 15:04 MST") != c.strict):
				t.Errorf("moved from %v, want %s", o.StrictDue, c.strict)
			case c.strict != "" && !strings.Contains(o.Basis, "Delegated Regulation (EU) 2025/301 Art. 5(4)"):
				t.Errorf("a moved deadline does not cite the relief: %q", o.Basis)
			case c.strict == "" && strings.Contains(o.Basis, "Art. 5(4)"):
				t.Errorf("a deadline not moved cites the relief: %q", o.Basis)
			}
		})
	}
	// The intermediate report counts from the initial notification's
	// moved deadline until it is sent: 72 hours after Monday noon.
	aware := wall(london, "2026-03-28 06:00")
	inc := incident(func(i *vigil.Incident) {
		i.Significant, i.Times.AwareAt, i.Times.ClassifiedAt = true, ptr(aware), ptr(aware)
	})
	obs, _ := Evaluate(packs, &Profile{DORA: true, DORAWeekendRelief: "all"}, inc, nil)
	dueCheck(t, "intermediate after a moved initial", find(obs, key+"intermediate").Due, london, "2026-04-02 12:00 BST", "2026-04-02 11:00")
}

// TestNextWorkingDayValidation: a relief needs a time of day, a condition
// and a citation, and a stage with a deadline to move.
func TestNextWorkingDayValidation(t *testing.T) {
	parse := func(stage string) []string {
		_, err := Parse([]byte(`{"id": "x", "name": "x", "basis": "b", "duties": [{"id": "d", "title": "t", "authority": "a", "basis": "b",
			"clock": "aware_at", "when": {"fact": "significant", "eq": true}, "stages": [` + stage + `]}]}`))
		var out []string
		for _, fe := range vigil.ErrorFields(err) {
			out = append(out, fe.Field)
		}
		return out
	}
	ok := `{"id": "s", "name": "s", "due": "24h", "next_working_day": {"by": "12:00", "when": {"fact": "profile.dora_weekend_relief", "eq": "all"}, "basis": "Art. 5(4)"}}`
	if got := parse(ok); len(got) != 0 {
		t.Errorf("a good relief refused: %v", got)
	}
	for _, c := range []struct{ stage, field string }{
		{strings.Replace(ok, `"12:00"`, `"noon"`, 1), "duties[0].stages[0].next_working_day.by"},
		{strings.Replace(ok, `"12:00"`, `"24:00"`, 1), "duties[0].stages[0].next_working_day.by"},
		{strings.Replace(ok, `"Art. 5(4)"`, `" "`, 1), "duties[0].stages[0].next_working_day.basis"},
		{strings.Replace(ok, `"when": {"fact": "profile.dora_weekend_relief", "eq": "all"}, `, ``, 1), "duties[0].stages[0].next_working_day.when"},
		{strings.Replace(ok, `"due": "24h"`, `"voluntary": true`, 1), "duties[0].stages[0].next_working_day"},
	} {
		if got := parse(c.stage); !slices.Contains(got, c.field) {
			t.Errorf("%s: problems at %v, want %s", c.stage, got, c.field)
		}
	}
}
