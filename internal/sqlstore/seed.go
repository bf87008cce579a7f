package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// SeedOptions shapes the synthetic data Seed writes.
type SeedOptions struct {
	Incidents           int       // incidents to add
	TimelinePerIncident int       // timeline entries per incident, the creation included (default 10)
	NotesPerIncident    int       // of those, hand-written notes (default 3)
	ObservablesPer      int       // observables per incident (default 2)
	Users               int       // users to spread the work over (default 25; created if missing)
	Seed                uint64    // random seed, for repeatable data
	End                 time.Time // the newest incident's creation time (default now)
	Span                time.Duration
	// Organisations, if more than 1, makes a CERT: the default
	// (coordinator) organisation and Organisations-1 members, slugs
	// member-0001…, each with one responder (m0001…, the seeded password)
	// who leads and opens its incidents, and granting the coordinator
	// Grant (default summary). A tenth of the incidents stay the
	// coordinator's; the rest are spread evenly over the members.
	Organisations int
	Grant         vigil.Grant
}

// Seed bulk-loads synthetic incidents, with timelines, notes, observables and
// their search documents, for benchmarks and demos. It writes rows directly
// in large transactions, not through the services: it is a loader, and its
// rows have no audit events. progress, if set, is called after each batch.
func (db *DB) Seed(ctx context.Context, o SeedOptions, progress func(done int)) error {
	if o.TimelinePerIncident == 0 {
		o.TimelinePerIncident = 10
	}
	if o.NotesPerIncident == 0 {
		o.NotesPerIncident = 3
	}
	if o.ObservablesPer == 0 {
		o.ObservablesPer = 2
	}
	if o.Users == 0 {
		o.Users = 25
	}
	if o.End.IsZero() {
		o.End = db.Now()
	}
	if o.Span == 0 {
		o.Span = 3 * 365 * 24 * time.Hour
	}
	if o.NotesPerIncident >= o.TimelinePerIncident {
		return fmt.Errorf("seed: notes must be fewer than timeline entries")
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	users, err := db.seedUsers(ctx, o.Users)
	if err != nil {
		return err
	}
	members, err := db.seedOrganisations(ctx, o)
	if err != nil {
		return err
	}
	next := func(table string) (int64, error) {
		var id int64
		err := db.Read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+table).Scan(&id)
		return id, err
	}
	ids := map[string]int64{}
	for _, t := range []string{"incidents", "timeline", "observables", "search_docs"} {
		if ids[t], err = next(t); err != nil {
			return err
		}
	}
	counters := map[int]int64{}
	rows, err := db.Read.QueryContext(ctx, `SELECT name, value FROM counters`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			rows.Close()
			return err
		}
		var year int
		if _, err := fmt.Sscanf(name, "incident:%d", &year); err == nil {
			counters[year] = v
		}
	}
	rows.Close()

	const batch = 500
	step := o.Span / time.Duration(max(o.Incidents, 1))
	start := o.End.Add(-o.Span)
	for done := 0; done < o.Incidents; {
		n := min(batch, o.Incidents-done)
		b := newSeedBatch()
		for k := range n {
			created := vigil.TruncateTime(start.Add(step * time.Duration(done+k)))
			db.seedIncident(b, rng, o, users, members, ids, counters, created)
		}
		if err := db.writeSeedBatch(ctx, b, counters); err != nil {
			return err
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
	for _, q := range db.d.AfterBulkLoad {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("after load: %s: %w", q, err)
		}
	}
	return nil
}

// seedBatch holds the rows of one transaction, table by table.
type seedBatch struct {
	incidents, timeline, observables, docs [][]any
}

func newSeedBatch() *seedBatch { return &seedBatch{} }

var (
	seedIncidentCols   = []string{"id", "reference", "title", "summary", "type", "status", "severity", "category", "significant", "tlp", "personal_data", "essential_service", "crime_suspected", "affected_services", "source", "exercise", "lead_id", "created_by", "occurred_at", "detected_at", "reported_at", "aware_at", "contained_at", "recovered_at", "closed_at", "created_at", "updated_at", "version", "organisation_id"}
	seedTimelineCols   = []string{"id", "incident_id", "kind", "at", "actor_id", "actor_name", "message", "changes", "created_at"}
	seedObservableCols = []string{"id", "incident_id", "type", "value", "ioc", "tlp", "description", "created_by", "created_at", "updated_at", "version", "scope_key"}
	seedDocCols        = []string{"id", "incident_id", "kind", "object_id", "body"}
)

func (db *DB) seedIncident(b *seedBatch, rng *rand.Rand, o SeedOptions, users []seedUser, members []seedMember, ids map[string]int64, counters map[int]int64, created time.Time) {
	id := ids["incidents"]
	ids["incidents"]++
	counters[created.Year()]++
	ref := vigil.FormatReference(created.Year(), counters[created.Year()])
	typ := vigil.IncidentTypes[rng.IntN(len(vigil.IncidentTypes))]
	sev := []vigil.Severity{vigil.SeverityLow, vigil.SeverityLow, vigil.SeverityMedium, vigil.SeverityMedium, vigil.SeverityMedium, vigil.SeverityHigh, vigil.SeverityHigh, vigil.SeverityCritical}[rng.IntN(8)]
	tlp := []vigil.TLP{vigil.TLPClear, vigil.TLPGreen, vigil.TLPGreen, vigil.TLPAmber, vigil.TLPAmber, vigil.TLPAmber, vigil.TLPAmber, vigil.TLPAmberStrict}[rng.IntN(8)]
	if rng.IntN(100) < 2 {
		tlp = vigil.TLPRed
	}
	// Old incidents are done; the newest are still being worked.
	age := o.End.Sub(created)
	status := vigil.StatusClosed
	switch {
	case age < 7*24*time.Hour:
		status = []vigil.Status{vigil.StatusTriage, vigil.StatusConfirmed, vigil.StatusContained, vigil.StatusRecovered}[rng.IntN(4)]
	case rng.IntN(10) == 0:
		status = []vigil.Status{vigil.StatusNotIncident, vigil.StatusDuplicate, vigil.StatusReportFraud, vigil.StatusReviewed}[rng.IntN(4)]
	}
	cat := 0
	if rng.IntN(3) == 0 {
		cat = 3 + rng.IntN(4)
	}
	lead := users[rng.IntN(len(users))]
	creator := users[rng.IntN(len(users))]
	org := vigil.DefaultOrganisationID
	if len(members) > 0 && rng.IntN(10) != 0 {
		m := members[rng.IntN(len(members))]
		org, lead, creator = m.org, m.user, m.user
	}
	title := seedTitle(rng, typ)
	summary := seedWords(rng, 15+rng.IntN(30))
	services := []string{seedServices[rng.IntN(len(seedServices))]}
	occurred := created.Add(-time.Duration(rng.IntN(72)) * time.Hour)
	var contained, recovered, closed *time.Time
	if !status.Open() || status == vigil.StatusContained || status == vigil.StatusRecovered {
		c := created.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
		contained = &c
	}
	if !status.Open() || status == vigil.StatusRecovered {
		r := contained.Add(time.Duration(1+rng.IntN(96)) * time.Hour)
		recovered = &r
	}
	if !status.Open() {
		c := recovered.Add(time.Duration(1+rng.IntN(240)) * time.Hour)
		closed = &c
	}
	updated := created
	if closed != nil {
		updated = *closed
	}
	b.incidents = append(b.incidents, []any{id, ref, title, summary, string(typ), string(status), sev.Rank(), cat, cat > 0 && cat <= 3,
		string(tlp), rng.IntN(5) == 0, rng.IntN(20) == 0, rng.IntN(10) == 0, mustJSON(services), string(vigil.Sources[rng.IntN(len(vigil.Sources))]),
		rng.IntN(50) == 0, lead.id, creator.id, occurred, created, created, created, contained, recovered, closed, created, updated, o.TimelinePerIncident, org})
	b.docs = append(b.docs, []any{ids["search_docs"], id, string(vigil.SearchIncident), id, strings.Join([]string{ref, title, summary, services[0]}, "\n")})
	ids["search_docs"]++

	// Timeline: the creation, notes, and status and field changes between.
	at := created
	for k := range o.TimelinePerIncident {
		tid := ids["timeline"]
		ids["timeline"]++
		actor := users[rng.IntN(len(users))]
		kind, msg := vigil.KindUpdate, "Changed severity."
		switch {
		case k == 0:
			kind, msg = vigil.KindCreated, fmt.Sprintf("Incident %s created.", ref)
		case k <= o.NotesPerIncident:
			kind, msg = vigil.KindNote, seedWords(rng, 10+rng.IntN(25))
		case k%2 == 0:
			kind, msg = vigil.KindStatus, "Status changed."
		}
		b.timeline = append(b.timeline, []any{tid, id, string(kind), at, actor.id, actor.name, msg, nil, at})
		if kind == vigil.KindNote {
			b.docs = append(b.docs, []any{ids["search_docs"], id, string(vigil.SearchNote), tid, msg})
			ids["search_docs"]++
		}
		at = at.Add(time.Duration(1+rng.IntN(180)) * time.Minute)
	}
	seen := map[string]bool{}
	for k := range o.ObservablesPer {
		typ, val := seedObservable(rng, k)
		if seen[string(typ)+val] {
			continue // one incident holds a value once
		}
		seen[string(typ)+val] = true
		oid := ids["observables"]
		ids["observables"]++
		b.observables = append(b.observables, []any{oid, id, string(typ), val, rng.IntN(2) == 0, string(vigil.TLPAmber), "", creator.id, created, created, 1,
			scopeArg(typ, val)})
		b.docs = append(b.docs, []any{ids["search_docs"], id, string(vigil.SearchObservable), oid, val + "\n"})
		ids["search_docs"]++
	}
}

// writeSeedBatch writes one batch in one transaction.
func (db *DB) writeSeedBatch(ctx context.Context, b *seedBatch, counters map[int]int64) error {
	return db.write(ctx, func(tx *Tx) error { return db.writeSeedRows(tx, b, counters) })
}

func (db *DB) writeSeedRows(tx *Tx, b *seedBatch, counters map[int]int64) error {
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"incidents", seedIncidentCols, b.incidents},
		{"timeline", seedTimelineCols, b.timeline},
		{"observables", seedObservableCols, b.observables},
		{"search_docs", seedDocCols, b.docs},
	} {
		if err := tx.insertRows(t.table, t.cols, t.rows); err != nil {
			return fmt.Errorf("seed %s: %w", t.table, err)
		}
	}
	for year, v := range counters {
		if _, err := tx.exec(`INSERT INTO counters (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, vigil.ReferenceCounter(year), v); err != nil {
			return err
		}
	}
	return nil
}

// seedMember is a member organisation of a seeded CERT and its one user.
type seedMember struct {
	org  int64
	user seedUser
}

// seedOrganisations makes the member organisations of o (see
// SeedOptions.Organisations), or finds them made by an earlier run.
func (db *DB) seedOrganisations(ctx context.Context, o SeedOptions) ([]seedMember, error) {
	if o.Organisations <= 1 {
		return nil, nil
	}
	grant := o.Grant
	if grant == "" {
		grant = vigil.GrantSummary
	}
	hash, err := vigil.HashPassword("seeded user password")
	if err != nil {
		return nil, err
	}
	return writeV(ctx, db, func(tx *Tx) ([]seedMember, error) {
		var out []seedMember
		for i := 1; i < o.Organisations; i++ {
			slug, username := fmt.Sprintf("member-%04d", i), fmt.Sprintf("m%04d", i)
			var m seedMember
			if err := tx.queryRow(`SELECT id FROM organisations WHERE slug = ?`, slug).Scan(&m.org); err != nil {
				m.org, err = tx.insert(`INSERT INTO organisations (slug, name, kind, coordinator_grant, created_at, updated_at)
					VALUES (?, ?, 'member', ?, ?, ?)`, slug, fmt.Sprintf("Member %04d", i), string(grant), tx.now, tx.now)
				if err != nil {
					return nil, fmt.Errorf("seed organisation: %w", err)
				}
			}
			m.user.name = fmt.Sprintf("Member %04d responder", i)
			if err := tx.queryRow(`SELECT id FROM users WHERE username = ?`, username).Scan(&m.user.id); err != nil {
				m.user.id, err = tx.insert(`INSERT INTO users (username, name, email, disabled, password_hash, failed_logins, created_at, updated_at, version)
					VALUES (?, ?, '', FALSE, ?, 0, ?, ?, 1)`, username, m.user.name, hash, tx.now, tx.now)
				if err == nil {
					_, err = tx.exec(`INSERT INTO memberships (organisation_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`,
						m.org, m.user.id, string(vigil.RoleResponder), tx.now)
				}
				if err != nil {
					return nil, fmt.Errorf("seed member user: %w", err)
				}
			}
			out = append(out, m)
		}
		return out, nil
	})
}

type seedUser struct {
	id   int64
	name string
}

// seedUsers returns n responders, creating the missing ones (password
// "seeded user password", hashed once for all).
func (db *DB) seedUsers(ctx context.Context, n int) ([]seedUser, error) {
	hash, err := vigil.HashPassword("seeded user password")
	if err != nil {
		return nil, err
	}
	// Built in the write and returned (writeV): a run rolled back and run
	// again must not leave its users in the list.
	return writeV(ctx, db, func(tx *Tx) ([]seedUser, error) {
		var users []seedUser
		for i := range n {
			name := fmt.Sprintf("analyst%02d", i+1)
			var id int64
			if err := tx.queryRow(`SELECT id FROM users WHERE username = ?`, name).Scan(&id); err != nil {
				id, err = tx.insert(`INSERT INTO users (username, name, email, disabled, password_hash, failed_logins, created_at, updated_at, version)
					VALUES (?, ?, '', FALSE, ?, 0, ?, ?, 1)`, name, "Analyst "+name[7:], hash, tx.now, tx.now)
				if err == nil {
					err = tx.setDefaultRole(id, vigil.RoleResponder, tx.now)
				}
				if err != nil {
					return nil, fmt.Errorf("seed user: %w", err)
				}
			}
			users = append(users, seedUser{id: id, name: "Analyst " + name[7:]})
		}
		return users, nil
	})
}

var seedServices = []string{"E-mail", "VPN", "Payroll", "Website", "CRM", "File shares", "Active Directory", "ERP", "HR portal", "Customer API", "Wi-Fi", "Printing"}

var seedTitleParts = map[vigil.IncidentType][]string{
	vigil.TypePhishing:                 {"Phishing e-mail to", "Credential phishing against", "Invoice phishing targeting", "Smishing wave against"},
	vigil.TypeMalware:                  {"Malware on a laptop in", "Trojan detected in", "Infostealer found in", "Malicious macro opened in"},
	vigil.TypeRansomware:               {"Ransomware on servers of", "Encryption of shares used by", "Ransom note found in"},
	vigil.TypeDenialOfService:          {"DDoS against the website of", "Traffic flood hitting", "Service outage from floods at"},
	vigil.TypeUnauthorisedAccess:       {"Suspicious login to", "Brute force against", "Compromised account in"},
	vigil.TypeUnauthorisedUse:          {"Misuse of admin rights in", "Crypto mining on systems of"},
	vigil.TypeUnauthorisedModification: {"Website defacement of", "Unapproved change to firewall of"},
	vigil.TypeDataBreach:               {"Personal data sent in error by", "Exposed storage bucket of", "Data exfiltration from"},
	vigil.TypeInsiderMisuse:            {"Data taken by a leaver from", "Snooping on records by staff in"},
	vigil.TypeSupplyChain:              {"Compromised supplier update used by", "Breach at a supplier of"},
	vigil.TypeLostDevice:               {"Laptop stolen from staff in", "Phone lost by a member of"},
	vigil.TypeOther:                    {"Unusual activity reported by", "Suspicious calls to"},
}

var seedTeams = []string{"finance", "HR", "sales", "the board", "IT", "facilities", "legal", "customer support", "engineering", "marketing", "procurement", "the warehouse"}

func seedTitle(rng *rand.Rand, t vigil.IncidentType) string {
	parts := seedTitleParts[t]
	return parts[rng.IntN(len(parts))] + " " + seedTeams[rng.IntN(len(seedTeams))]
}

// seedVocabulary is incident-response prose; seedWords draws from it with
// a skew, so that a few words are common and most are rare, as in real text.
var seedVocabulary = strings.Fields(`the user reported a suspicious email with an attachment link that asked for credentials
we blocked the sender domain and reset the password of the affected account after checking the sign in logs
the firewall showed outbound connections to an unknown address on port 443 from a workstation in the office
endpoint detection quarantined the file and we collected the hash for analysis in the sandbox environment
the server was isolated from the network while the team imaged the disk and preserved the memory for forensics
backups were verified and restored to a clean host before the service was brought back online for customers
the supplier confirmed a breach of their portal and we rotated the api keys shared with their integration
a member of staff lost a laptop on the train it was encrypted and we wiped it remotely through device management
the website was flooded with requests from a botnet and the cdn rate limits absorbed most of the traffic
the dpo assessed whether personal data was at risk and whether the ico must be notified within seventy two hours
legal advised on evidence handling and the chain of custody for the drive that police may request later
communications prepared a holding statement for customers and an internal note for all staff about the phishing
vulnerability scanning found an unpatched vpn appliance that was exploited to gain a foothold in the domain
the attacker used stolen tokens to access mailboxes and set forwarding rules to an external address
multi factor authentication prompts were approved by mistake after a fatigue attack late at night
powershell scripts were run from a scheduled task to download a second stage payload from a paste site
lateral movement used remote desktop with a service account that had excessive privileges on file servers
exfiltration of around four gigabytes was seen in proxy logs before the encryption started at three am
the ransom note named a known group and pointed to a leak site on tor with a countdown timer
we engaged an ncsc assured incident response company and informed our cyber insurer under the policy terms`)

// seedWords writes n words of prose. Most come from the shared vocabulary,
// skewed so a few words are very common; one in eight is a specific term
// (a host, an account, a ticket, a product code) drawn from a large space,
// as real incident notes are full of names that occur in few cases.
func seedWords(rng *rand.Rand, n int) string {
	out := make([]string, n)
	for i := range out {
		if rng.IntN(8) == 0 {
			out[i] = seedTerm(rng)
			continue
		}
		// The square skews towards the start of the list.
		f := rng.Float64()
		out[i] = seedVocabulary[int(f*f*float64(len(seedVocabulary)))]
	}
	return strings.ToUpper(out[0][:1]) + strings.Join(out, " ")[1:] + "."
}

var seedTermPrefixes = []string{"ws", "srv", "lap", "svc", "usr", "tkt", "chg", "prj", "app", "dc", "fw", "vpn"}

// seedTerm is a specific term from a space of about 1.2 million, with a
// Zipf-like skew: some hosts come up again and again, most rarely.
func seedTerm(rng *rand.Rand) string {
	f := rng.Float64()
	return fmt.Sprintf("%s%05d", seedTermPrefixes[rng.IntN(len(seedTermPrefixes))], int(f*f*f*100000))
}

// seedObservable draws a value from pools small enough that values repeat
// across incidents, as real indicators do.
func seedObservable(rng *rand.Rand, k int) (vigil.ObservableType, string) {
	switch (k + rng.IntN(3)) % 3 {
	case 0:
		return vigil.ObsIPv4, fmt.Sprintf("198.51.%d.%d", rng.IntN(100), rng.IntN(250)+1)
	case 1:
		return vigil.ObsDomain, fmt.Sprintf("%s-%d.example", []string{"login", "secure", "update", "cdn", "mail"}[rng.IntN(5)], rng.IntN(5000))
	}
	return vigil.ObsSHA256, fmt.Sprintf("%064x", rng.Uint64()%200000)
}

// SeedWords lists the words Seed writes in titles, summaries and notes,
// for benchmarks that choose search words by how often they occur.
func SeedWords() []string {
	var out []string
	out = append(out, seedVocabulary...)
	for _, parts := range seedTitleParts {
		for _, p := range parts {
			out = append(out, strings.Fields(p)...)
		}
	}
	for _, t := range seedTeams {
		out = append(out, strings.Fields(t)...)
	}
	for _, s := range seedServices {
		out = append(out, strings.Fields(s)...)
	}
	return out
}
