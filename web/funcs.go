package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/markdown"
)

// parseTemplates parses each page with the layout and the shared partials.
func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"time":        h.fmtTime,
		"inputTime":   h.inputTime,
		"ago":         h.ago,
		"statusLabel": vigil.StatusLabel,
		"advice":      vigil.TriageAdvice,
		"label":       label,
		"tlpClass":    func(t vigil.TLP) string { return "tlp-" + strings.ToLower(strings.ReplaceAll(string(t), "+", "-")) },
		"lower":       strings.ToLower,
		"snippet":     snippet,
		"query":       query,
		"reportBase":  reportBase,
		"grantLabel":  grantLabel,
		"contains":    contains,
		"deref":       func(p *int64) int64 { return derefInt(p) },
		"add":         func(a, b int) int { return a + b },
		"lines":       func(s string) []string { return strings.Split(s, "\n") },
		"first":       first,
		"zone":        func() string { return h.Now().In(h.Location).Format("MST") },
		"kindLabel":   kindLabel,
		"list":        func(s ...string) []string { return s },
		"actionLabel": actionLabel,
		"moveLabel":   moveLabel,
		"needReason":  reasonRequired,
		"primaryMove": primaryMove,
		"auditLink":   auditLink,
		"adminHome":   adminHome,
		"md":          markdown.HTML,
		"plural":      vigil.Plural,
		"tlpNote":     tlpNote,
		"sortLabel":   sortLabel,
		"groupSort":   groupSortLabel,
		"countdown":   h.countdown,
		"isoTime":     func(t *time.Time) string { return t.UTC().Format(time.RFC3339) },
		"viewURL":     func(v *vigil.SavedView) string { return "/incidents?" + v.Query },
		"category":    func(n int) string { return categoryNames[n] },
		"bytes":       vigil.FormatBytes,
		"now":         h.Now,
		"secs":        humanSeconds,
		"date": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				return t.In(h.Location).Format("2 Jan 2006")
			case *time.Time:
				if t != nil {
					return t.In(h.Location).Format("2 Jan 2006")
				}
			}
			return ""
		},
		"hitList": func(hits []*vigil.IOCHit, edit bool) map[string]any {
			return map[string]any{"Hits": hits, "Edit": edit}
		},
	}
	partials, err := fs.Glob(templateFS, "templates/_*.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, p := range pages {
		name := strings.TrimPrefix(p, "templates/")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, append([]string{p}, partials...)...)
		if err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		h.pages[name] = t
	}
	return nil
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// fmtTime shows a time in the handler's zone, or "—" for none.
func (h *Handler) fmtTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	default:
		return ""
	}
	return t.In(h.Location).Format("2 Jan 2006 15:04 MST")
}

// countdown says how long until t, or how long ago it passed: "in 2 d 3 h",
// "overdue by 40 min". The script keeps it current on the page.
func (h *Handler) countdown(t *time.Time) string {
	if t == nil {
		return ""
	}
	d := t.Sub(h.Now())
	words := func(d time.Duration) string {
		switch {
		case d >= 48*time.Hour:
			return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
		case d >= time.Hour:
			return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
		}
		return fmt.Sprintf("%d min", max(1, int(d.Minutes())))
	}
	if d < 0 {
		return "overdue by " + words(-d)
	}
	return "in " + words(d)
}

// inputTime formats a time for a datetime-local input.
func (h *Handler) inputTime(v *time.Time) string {
	if v == nil {
		return ""
	}
	return v.In(h.Location).Format("2006-01-02T15:04")
}

// ago says how long ago t was, roughly.
func (h *Handler) ago(t time.Time) string {
	d := h.Now().Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// label turns an enum value like "denial_of_service" into "Denial of service".
func label(v any) string {
	s := strings.ReplaceAll(fmt.Sprint(v), "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// snippet marks a search snippet safe: the store builds it with every
// character of the document HTML-escaped and only <mark> added (see
// sqlstore.Highlight, whose tests hold it to that).
func snippet(s string) template.HTML { return template.HTML(s) }

// query returns the URL query of v with key set to value ("" removes it),
// for links that change one filter or the page.
func query(v url.Values, key, value string) string {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	if key != "" {
		if value == "" {
			out.Del(key)
		} else {
			out.Set(key, value)
		}
	}
	if key != "cursor" {
		out.Del("cursor")
	}
	if len(out) == 0 {
		return "?"
	}
	return "?" + out.Encode()
}

// contains reports whether list holds v, comparing as strings.
func contains(list any, v any) bool {
	want := fmt.Sprint(v)
	rv := reflect.ValueOf(list)
	if rv.Kind() != reflect.Slice {
		return false
	}
	for i := range rv.Len() {
		if fmt.Sprint(rv.Index(i).Interface()) == want {
			return true
		}
	}
	return false
}

// groupSortLabel names the alert queue's sorts.
func groupSortLabel(s string) string {
	return map[string]string{"severity": "Most severe first", "newest": "Newest first", "oldest": "Oldest first",
		"last_seen": "Most recently active"}[s]
}

// first returns the first of a query parameter's values.
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func sortLabel(s vigil.IncidentSort) string {
	switch s {
	case vigil.SortCreatedDesc:
		return "Newest first"
	case vigil.SortCreatedAsc:
		return "Oldest first"
	case vigil.SortUpdatedDesc:
		return "Recently updated"
	case vigil.SortUpdatedAsc:
		return "Least recently updated"
	case vigil.SortSeverityDesc:
		return "Most severe first"
	case vigil.SortSeverityAsc:
		return "Least severe first"
	case vigil.SortRelevance:
		return "Best match (with a search)"
	}
	return string(s)
}

// actionLabel is the button that moves an incident to s.
func actionLabel(s vigil.Status) string {
	switch s {
	case vigil.StatusTriage:
		return "Reopen for triage"
	case vigil.StatusConfirmed:
		return "Confirm as an incident"
	case vigil.StatusContained:
		return "Mark contained"
	case vigil.StatusRecovered:
		return "Mark recovered"
	case vigil.StatusClosed:
		return "Close"
	case vigil.StatusReviewed:
		return "Mark reviewed"
	case vigil.StatusNotIncident:
		return "Not an incident"
	case vigil.StatusPolice:
		return "Refer to the police"
	case vigil.StatusReportFraud:
		return "Refer to Report Fraud"
	case vigil.StatusDuplicate:
		return "Duplicate of…"
	}
	return string(s)
}

// moveLabel is actionLabel for a move from the incident's status: back to
// confirmed from later in the lifecycle is no confirmation but a step
// back, and from closed a reopening.
func moveLabel(from, to vigil.Status) string {
	if to == vigil.StatusConfirmed {
		switch from {
		case vigil.StatusClosed, vigil.StatusReviewed:
			return "Reopen"
		case vigil.StatusContained, vigil.StatusRecovered:
			return "Back to confirmed"
		}
	}
	return actionLabel(to)
}

// adminHome is where the Admin tab leads: the first administration page
// the actor may open, "" for none (no tab).
func adminHome(can map[string]bool, adminsAnOrg bool) string {
	for _, p := range []struct{ perm, url string }{{"user:admin", "/admin/users"}, {"audit:read", "/admin/audit"},
		{"integration:admin", "/admin/integrations"}, {"contact:admin", "/admin/contacts"}, {"settings:admin", "/admin/duty-packs"},
		{"org:admin", "/admin/organisations"}} {
		if can[p.perm] {
			return p.url
		}
	}
	if adminsAnOrg {
		return "/admin/organisations"
	}
	return ""
}

// auditLink is the page of an audit event's object, or "" for one
// without a page of its own.
func auditLink(objectType, id string) string {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return ""
	}
	switch objectType {
	case "incident":
		return "/incidents/" + id
	case "evidence":
		return "/evidence/" + id
	case "plan":
		return "/plans/" + id
	case "alert":
		return "/alerts/" + id
	}
	return ""
}

// primaryMove reports whether a move is the incident's next step forward,
// the one primary action: reopening and stepping back are secondary.
func primaryMove(from, to vigil.Status) bool {
	switch from {
	case vigil.StatusTriage:
		return to == vigil.StatusConfirmed
	case vigil.StatusConfirmed:
		return to == vigil.StatusContained
	case vigil.StatusContained:
		return to == vigil.StatusRecovered
	case vigil.StatusRecovered:
		return to == vigil.StatusClosed
	}
	return false
}

// reasonRequired reports whether a move from one status to another needs
// its reason, as vigil.Transition.Validate and ApplyTransition ask.
func reasonRequired(from, to vigil.Status) bool {
	switch to {
	case vigil.StatusNotIncident, vigil.StatusPolice, vigil.StatusReportFraud:
		return true
	case vigil.StatusConfirmed:
		return from == vigil.StatusClosed || from == vigil.StatusReviewed
	}
	return false
}

// tlpNote says what a TLP 2.0 label allows, for the incident's banner.
func tlpNote(t vigil.TLP) string {
	switch t {
	case vigil.TLPRed:
		return "For the named members only. Do not share further."
	case vigil.TLPAmberStrict:
		return "Within this organisation only."
	case vigil.TLPAmber:
		return "Within this organisation and its clients, on a need-to-know basis."
	case vigil.TLPGreen:
		return "Within the community, not publicly."
	case vigil.TLPClear:
		return "No limit on disclosure."
	}
	return ""
}

func kindLabel(k string) string {
	switch k {
	case "status":
		return "Status changes"
	case "update":
		return "Edits"
	case "intel":
		return "Threat intelligence"
	case "sharing":
		return "Sharing"
	case "evidence":
		return "Evidence"
	case "review":
		return "Review"
	case "exercise":
		return "Exercise"
	}
	return label(k) + "s"
}
