package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-ir/vigil"
)

// The pages show organisations only to people who belong to one besides
// the default organisation (docs/organisations.md): in a
// single-organisation install, and to the coordinator's own staff, every
// page looks as it did before organisations. Someone who belongs to
// several gets an Organisation column and filter on the incident list, an
// Organisation field on the new-incident form, and a chooser in the header
// that sets the current organisation for the browser session.

// orgView is one of the actor's organisations, as the pages show it.
type orgView struct {
	Slug      string
	Name      string
	Role      vigil.Role
	Suspended bool
	ID        int64
}

// orgCookie holds the slug of the current organisation for the browser
// session ("" or absent: all of the user's organisations).
const orgCookie = "vigil_org"

// actorOrgs returns the actor's organisations with their names, the
// default organisation first, or nil when the default organisation is the
// only one (then no page shows organisations). It costs no query in that
// case.
func (h *Handler) actorOrgs(r *http.Request, a *vigil.Actor) []orgView {
	if a == nil || a.System {
		return nil
	}
	ms := a.Memberships()
	if len(ms) == 0 || (len(ms) == 1 && ms[0].ID == vigil.DefaultOrganisationID) {
		return nil
	}
	out := make([]orgView, 0, len(ms))
	orgs, err := h.Services.Orgs.FindOrganisations(r.Context())
	if err != nil {
		// The names are a courtesy: the slugs will do.
		h.Logger.WarnContext(r.Context(), "list the actor's organisations", "err", err, "request_id", vigil.RequestIDFromContext(r.Context()))
		for _, m := range ms {
			out = append(out, orgView{Slug: m.Slug, Name: m.Slug, Role: m.Role, ID: m.ID})
		}
		return out
	}
	for _, o := range orgs {
		if role, ok := a.RoleIn(o.ID); ok {
			out = append(out, orgView{Slug: o.Slug, Name: o.Name, Role: role, Suspended: o.SuspendedAt != nil, ID: o.ID})
		}
	}
	return out
}

// setOrgs fills in the page's organisations: the actor's, the current one
// (from the cookie, when it is still one of theirs and they have several),
// and where their staff report pages are.
func (h *Handler) setOrgs(r *http.Request, p *page) {
	p.ReportURLs = []reportLink{{URL: "/report"}}
	p.Orgs = h.actorOrgs(r, p.Actor)
	if p.Orgs == nil {
		return
	}
	p.ReportURLs = p.ReportURLs[:0]
	for _, o := range p.Orgs {
		if !o.Suspended {
			p.ReportURLs = append(p.ReportURLs, reportLink{URL: reportBase(o.Slug), Org: o.Name})
		}
	}
	if len(p.Orgs) < 2 {
		return
	}
	if c, err := r.Cookie(orgCookie); err == nil {
		if o := p.org(c.Value); o != nil {
			p.OrgCurrent = o.Slug
		}
	}
}

// reportLink is a link to one of the actor's staff report pages; Org is
// empty in a single-organisation view.
type reportLink struct {
	URL string
	Org string
}

// ReportURL is the first of the actor's staff report pages.
func (p *page) ReportURL() string {
	if len(p.ReportURLs) == 0 {
		return "/report"
	}
	return p.ReportURLs[0].URL
}

// reportBase is the path of an organisation's report page: /report for
// the default organisation, as before organisations.
func reportBase(slug string) string {
	if slug == "" || slug == vigil.DefaultOrganisationSlug {
		return "/report"
	}
	return "/report/" + slug
}

// org returns the actor's organisation slug, or nil.
func (p *page) org(slug string) *orgView {
	for i := range p.Orgs {
		if p.Orgs[i].Slug == slug {
			return &p.Orgs[i]
		}
	}
	return nil
}

// MultiOrg reports whether the actor belongs to several organisations:
// then the incident list has an Organisation column and filter.
func (p *page) MultiOrg() bool { return len(p.Orgs) > 1 }

// OrgName is the name of the organisation slug, for the incident list.
func (p *page) OrgName(slug string) string {
	if o := p.org(slug); o != nil {
		return o.Name
	}
	return slug
}

// RoleLabel is the role the header shows beside the user's name: their
// role in the default organisation, or in their only organisation.
func (p *page) RoleLabel() vigil.Role {
	if p.Actor == nil {
		return ""
	}
	if p.Actor.Role != "" || len(p.Orgs) != 1 {
		return p.Actor.Role
	}
	return p.Orgs[0].Role
}

// AdminsAnOrg reports whether the actor administers one of their
// organisations: they get the organisations' pages.
func (p *page) AdminsAnOrg() bool {
	for _, o := range p.Orgs {
		if o.Role == vigil.RoleAdmin {
			return true
		}
	}
	return false
}

// creatableOrgs are the organisations where the actor may create
// incidents: not suspended, and with a role that allows it.
func (p *page) creatableOrgs() []orgView {
	var out []orgView
	for _, o := range p.Orgs {
		if !o.Suspended && p.Actor.CanIn(o.ID, vigil.PermIncidentCreate) {
			out = append(out, o)
		}
	}
	return out
}

// restrictTo limits the page's permissions to what the actor holds in
// organisation org, for a page about one of its incidents: a responder in
// one organisation who is a viewer in another sees no edit controls on the
// other's incidents. A suspended organisation's incidents are read-only,
// and the page says so.
func (p *page) restrictTo(org int64) {
	can := map[string]bool{}
	o := p.orgByID(org)
	for perm := range p.Can {
		ps := vigil.Permission(perm)
		switch {
		case !vigil.OrgScoped(ps):
			can[perm] = true
		case o != nil && o.Suspended && ps != vigil.PermIncidentRead:
		case p.Actor.CanIn(org, ps):
			can[perm] = true
		}
	}
	p.Can = can
	if o != nil && o.Suspended {
		p.SuspendedOrg = o.Name
	}
}

func (p *page) orgByID(id int64) *orgView {
	for i := range p.Orgs {
		if p.Orgs[i].ID == id {
			return &p.Orgs[i]
		}
	}
	return nil
}

// orgSwitch sets the current organisation for the browser session, and
// goes back to the page the chooser was on (to the incident list without
// its filters, which would otherwise override the choice).
func (h *Handler) orgSwitch(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := h.newPage(r, "", "", nil)
	slug := strings.TrimSpace(r.PostFormValue("organisation"))
	flash := "Showing all your organisations."
	if slug != "" {
		o := p.org(slug)
		if o == nil || !p.MultiOrg() {
			return vigil.Invalid("organisation", "You do not belong to an organisation %q.", slug)
		}
		flash = "Current organisation: " + o.Name + "."
	}
	c := &http.Cookie{Name: orgCookie, Value: slug, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.SecureCookies || r.TLS != nil} // no expiry: it ends with the browser session
	if slug == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
	next := safeNext(r.PostFormValue("next"))
	if u, err := url.Parse(next); err == nil && u.Path == "/incidents" {
		next = "/incidents"
	}
	h.redirect(w, r, next, flash)
	return nil
}
