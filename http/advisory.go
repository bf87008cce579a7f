package http

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// AdvisoryList is a page of advisories, newest change first.
type AdvisoryList struct {
	Advisories []*vigil.Advisory `json:"advisories"`
	Total      int               `json:"total"`
	// Feed is the Atom feed of the advisories the caller may read; a
	// feed reader sends a token with it (?token= or Authorization).
	Feed string `json:"feed"`
}

func (s *Server) handleAdvisoryList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "status", "kind", "severity", "limit", "offset")
	f := vigil.AdvisoryFilter{
		Status:   enumList[vigil.AdvisoryStatus](q, "status"),
		Kind:     enumList[vigil.AdvisoryKind](q, "kind"),
		Severity: enumList[vigil.Severity](q, "severity"),
		Limit:    q.int("limit", 50),
		Offset:   q.int("offset", 0),
	}
	if err := q.err(); err != nil {
		return err
	}
	as, total, err := s.Services.Advisories.FindAdvisories(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, AdvisoryList{Advisories: as, Total: total, Feed: baseURL(r) + advisoryFeedPath})
	return nil
}

func (s *Server) handleAdvisoryCreate(w http.ResponseWriter, r *http.Request) error {
	var a vigil.Advisory
	if err := s.decode(w, r, &a); err != nil {
		return err
	}
	if err := s.Services.Advisories.CreateAdvisory(r.Context(), &a); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/advisories/"+a.Reference)
	w.Header().Set("ETag", etag(a.Version))
	s.json(w, http.StatusCreated, &a)
	return nil
}

func (s *Server) handleAdvisoryFromIncident(w http.ResponseWriter, r *http.Request, id int64) error {
	var d vigil.AdvisoryFromIncident
	if err := s.decode(w, r, &d); err != nil {
		return err
	}
	a, err := s.Services.Advisories.DraftAdvisoryFromIncident(r.Context(), id, d)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/advisories/"+a.Reference)
	w.Header().Set("ETag", etag(a.Version))
	s.json(w, http.StatusCreated, a)
	return nil
}

func (s *Server) handleAdvisoryView(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Services.Advisories.FindAdvisory(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(a.Version))
	s.json(w, http.StatusOK, a)
	return nil
}

// advisoryWritten answers a change to an advisory: it as it now is; or,
// when the change lost the race, 412 with the current advisory.
func (s *Server) advisoryWritten(w http.ResponseWriter, r *http.Request, a *vigil.Advisory, err error) error {
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		cur, ferr := s.Services.Advisories.FindAdvisory(r.Context(), r.PathValue("ref"))
		if ferr != nil {
			return err
		}
		w.Header().Set("ETag", etag(cur.Version))
		return &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err), Current: cur}
	} else if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(a.Version))
	s.json(w, http.StatusOK, a)
	return nil
}

func (s *Server) handleAdvisoryUpdate(w http.ResponseWriter, r *http.Request) error {
	var upd vigil.AdvisoryUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	var err error
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	a, err := s.Services.Advisories.UpdateAdvisory(r.Context(), r.PathValue("ref"), upd)
	return s.advisoryWritten(w, r, a, err)
}

func (s *Server) handleAdvisoryPublish(w http.ResponseWriter, r *http.Request) error {
	var p vigil.AdvisoryPublish
	if err := s.decode(w, r, &p); err != nil {
		return err
	}
	var err error
	if p.Version, err = versioned(r, p.Version); err != nil {
		return err
	}
	a, err := s.Services.Advisories.PublishAdvisory(r.Context(), r.PathValue("ref"), p)
	return s.advisoryWritten(w, r, a, err)
}

func (s *Server) handleAdvisoryRespond(w http.ResponseWriter, r *http.Request) error {
	var in vigil.AdvisoryResponseInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	resp, err := s.Services.Advisories.RespondToAdvisory(r.Context(), r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	s.json(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) handleAdvisoryResponses(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Services.Advisories.FindAdvisoryResponses(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, out)
	return nil
}

// advisoryFeedPath is the Atom feed's path.
const advisoryFeedPath = "/api/v1/advisories.atom"

// maxFeedEntries bounds the feed: readers poll it, and what is older is
// in the API.
const maxFeedEntries = 100

// handleAdvisoryFeed writes the Atom feed of the advisories the reader
// may see. Feed readers cannot log in and many cannot send headers, so an
// API token is taken from the URL (?token=) as well as from Authorization;
// the access log records paths without their query, so the token is not
// logged. Never a draft, never TLP:RED, whoever reads (vigil.AdvisoryFilter.Feed).
func (s *Server) handleAdvisoryFeed(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "token")
	token := q.str("token")
	if err := q.err(); err != nil {
		return err
	}
	ctx := r.Context()
	if token != "" {
		a, err := s.Services.Auth.AuthenticateToken(ctx, token)
		if err != nil {
			return err
		}
		if a.MustChangePassword {
			return errMustChange
		}
		ctx = vigil.NewContextWithActor(ctx, a)
	}
	if _, err := requireActor(r.WithContext(ctx)); err != nil {
		return err
	}
	as, _, err := s.Services.Advisories.FindAdvisories(ctx, vigil.AdvisoryFilter{Feed: true, Limit: maxFeedEntries})
	if err != nil {
		return err
	}
	b, err := AdvisoryAtom(baseURL(r), as, time.Now())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Write(b)
	return nil
}

// The Atom 1.0 document (RFC 4287), written with encoding/xml: see
// docs/architecture.md for why not a feed library.
type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Updated   string      `xml:"updated"`
	Author    atomPerson  `xml:"author"`
	Links     []atomLink  `xml:"link"`
	Generator string      `xml:"generator"`
	Entries   []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomCategory struct {
	Term   string `xml:"term,attr"`
	Scheme string `xml:"scheme,attr,omitempty"`
	Label  string `xml:"label,attr,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Rights     string         `xml:"rights"`
	Summary    atomText       `xml:"summary"`
	Content    atomText       `xml:"content"`
}

// AdvisoryAtom writes advisories (newest change first, as FindAdvisories
// returns them) as an Atom 1.0 feed under base, the server's public URL.
// An entry's id is the advisory's UUID, so it stays the same across
// updates and hosts; its updated is the advisory's last publication. now
// is the feed's updated when it has no entry.
func AdvisoryAtom(base string, as []*vigil.Advisory, now time.Time) ([]byte, error) {
	base = strings.TrimRight(base, "/")
	f := atomFeed{
		ID: base + advisoryFeedPath, Title: "Vigil advisories", Author: atomPerson{Name: "Vigil"}, Generator: "Vigil " + vigil.Version,
		Links: []atomLink{{Href: base + advisoryFeedPath, Rel: "self", Type: "application/atom+xml"}},
	}
	updated := now
	for i, a := range as {
		if i == 0 || a.UpdatedAt.After(updated) {
			updated = a.UpdatedAt
		}
		f.Entries = append(f.Entries, atomEntryOf(base, a))
	}
	f.Updated = updated.UTC().Format(time.RFC3339)
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("atom: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

func atomEntryOf(base string, a *vigil.Advisory) atomEntry {
	title := fmt.Sprintf("%s: %s", a.Reference, a.Title)
	switch {
	case a.Status == vigil.AdvisoryWithdrawn:
		title = "[Withdrawn] " + title
	case a.Kind == vigil.AdvisoryKindAlert:
		title = "[Alert] " + title
	}
	// The TLP banner first, as the label must come before the text it
	// marks (FIRST TLP 2.0).
	banner := fmt.Sprintf("TLP:%s. %s %s, %s severity.", a.TLP, strings.ToUpper(a.Reference), a.Kind, a.Severity)
	var body strings.Builder
	fmt.Fprintf(&body, "%s\n\n%s\n", banner, a.Summary)
	section := func(name, text string) {
		if text != "" {
			fmt.Fprintf(&body, "\n%s\n%s\n", name, text)
		}
	}
	section("What to do", a.Actions)
	section("Detection", a.Detection)
	if n := len(a.Affected.Products) + len(a.Affected.CVEs); n > 0 {
		section("Affected", strings.Join(append(append([]string{}, a.Affected.Products...), a.Affected.CVEs...), "\n"))
	}
	if len(a.IOCs) > 0 {
		lines := make([]string, len(a.IOCs))
		for i, c := range a.IOCs {
			lines[i] = fmt.Sprintf("%s %s (TLP:%s)", c.Type, vigil.Defang(c.Type, c.Value), c.TLP)
		}
		section("Indicators (defanged)", strings.Join(lines, "\n"))
	}
	section("References", strings.Join(a.Refs, "\n"))
	e := atomEntry{
		ID: "urn:uuid:" + a.UUID, Title: title, Updated: a.UpdatedAt.UTC().Format(time.RFC3339),
		Links:  []atomLink{{Href: base + "/api/v1/advisories/" + a.Reference, Rel: "alternate", Type: "application/json"}},
		Rights: "TLP:" + string(a.TLP),
		Categories: []atomCategory{
			{Term: "TLP:" + string(a.TLP), Scheme: "https://www.first.org/tlp/"},
			{Term: string(a.Kind)}, {Term: "severity:" + string(a.Severity)}, {Term: "status:" + string(a.Status)},
		},
		Summary: atomText{Type: "text", Body: banner + " " + a.Summary},
		Content: atomText{Type: "text", Body: body.String()},
	}
	if a.PublishedAt != nil {
		e.Published = a.PublishedAt.UTC().Format(time.RFC3339)
	}
	for _, c := range a.Affected.CVEs {
		e.Categories = append(e.Categories, atomCategory{Term: c, Scheme: "https://www.cve.org/"})
	}
	return e
}
