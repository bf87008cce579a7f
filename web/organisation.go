package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
		// The names are a courtesy: the slugs will do. (A request the
		// browser gave up on is no fault.)
		if r.Context().Err() == nil {
			h.Logger.WarnContext(r.Context(), "list the actor's organisations", "err", err, "request_id", vigil.RequestIDFromContext(r.Context()))
		}
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

// OrgName is the name of the organisation slug: one of the actor's, or
// one learnOrgNames found; else the slug (the coordinator's staff read
// members' incidents by grant without seeing the organisations).
func (p *page) OrgName(slug string) string {
	if o := p.org(slug); o != nil {
		return o.Name
	}
	if n, ok := p.orgNames[slug]; ok {
		return n
	}
	return slug
}

// learnOrgNames finds the names of the organisations the actor may see
// (their own, or every one for the install's administrators), once.
func (h *Handler) learnOrgNames(r *http.Request, p *page) {
	if p.orgNames != nil {
		return
	}
	p.orgNames = map[string]string{}
	orgs, err := h.Services.Orgs.FindOrganisations(r.Context())
	if err != nil {
		if r.Context().Err() == nil {
			h.Logger.WarnContext(r.Context(), "list organisations", "err", err, "request_id", vigil.RequestIDFromContext(r.Context()))
		}
		return
	}
	for _, o := range orgs {
		p.orgNames[o.Slug] = o.Name
	}
}

// belongs reports whether the actor belongs to the organisation slug.
func belongs(a *vigil.Actor, slug string) bool {
	for _, m := range a.Memberships() {
		if m.Slug == slug {
			return true
		}
	}
	return false
}

// listOrgs settles the incident list's organisations: a column and a
// filter when the list can hold several organisations' incidents — for
// a member of several, and for the coordinator's staff when it holds
// members' incidents they see by grant.
func (h *Handler) listOrgs(r *http.Request, p *page, d *listData) {
	d.OrgColumn = p.MultiOrg()
	seen := map[string]bool{}
	var others []string
	for _, inc := range d.Page.Items {
		if !belongs(p.Actor, inc.Organisation) {
			d.OrgColumn = true
		}
		if !seen[inc.Organisation] && p.org(inc.Organisation) == nil {
			seen[inc.Organisation] = true
			others = append(others, inc.Organisation)
		}
	}
	d.OrgFilter = d.OrgColumn || d.OrgSel != ""
	if !d.OrgFilter {
		return
	}
	if sel := d.OrgSel; sel != "" && !seen[sel] && p.org(sel) == nil {
		others = append(others, sel)
	}
	opts := p.Orgs
	if opts == nil {
		for _, m := range p.Actor.Memberships() {
			opts = append(opts, orgView{Slug: m.Slug, Role: m.Role, ID: m.ID})
			others = append(others, m.Slug)
		}
	}
	if len(others) > 0 {
		h.learnOrgNames(r, p)
	}
	d.OrgOptions = nil
	for _, o := range opts {
		o.Name = p.OrgName(o.Slug)
		d.OrgOptions = append(d.OrgOptions, o)
	}
	slices.Sort(others)
	for _, slug := range slices.Compact(others) {
		if p.org(slug) == nil && !slices.ContainsFunc(d.OrgOptions, func(o orgView) bool { return o.Slug == slug }) {
			d.OrgOptions = append(d.OrgOptions, orgView{Slug: slug, Name: p.OrgName(slug)})
		}
	}
}

// RoleLabel is the role the header shows beside the user's name: their
// role in their only organisation. A member of several has one in each,
// which the chooser shows.
func (p *page) RoleLabel() vigil.Role {
	switch {
	case p.Actor == nil || len(p.Orgs) > 1:
		return ""
	case len(p.Orgs) == 1:
		return p.Orgs[0].Role
	}
	return p.Actor.Role
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

// incidentOrg names the organisation of the incident a page is about,
// when the actor belongs to others than the default organisation or the
// incident is not of theirs: then it is a member's incident that the
// coordinator's staff read by its grant (GrantedOrg), read-only.
func (h *Handler) incidentOrg(r *http.Request, p *page, inc *vigil.Incident) {
	mine := belongs(p.Actor, inc.Organisation)
	if p.Orgs == nil && mine {
		return
	}
	if !mine {
		h.learnOrgNames(r, p)
	}
	p.IncidentOrg = p.OrgName(inc.Organisation)
	if !mine {
		p.GrantedOrg = p.IncidentOrg
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

// The organisations' pages are for the install's administrators
// (PermOrgAdmin: every organisation; they alone create, suspend and
// resume) and for each organisation's own administrators (their
// organisations: its details and members). The store checks again.

type orgsData struct {
	Orgs   []*vigil.Organisation
	Form   *vigil.Organisation
	Errors map[string]string
	Create bool // the actor may create organisations
}

// requireOrgPages is EFORBIDDEN unless the actor administers the install
// or one of their organisations.
func requireOrgPages(p *page) error {
	if p.NavCan[string(vigil.PermOrgAdmin)] || p.AdminsAnOrg() {
		return nil
	}
	return vigil.Errorf(vigil.EFORBIDDEN, "Only administrators manage organisations.")
}

func (h *Handler) adminOrgs(w http.ResponseWriter, r *http.Request) error {
	return h.renderOrgs(w, r, http.StatusOK, &orgsData{Form: &vigil.Organisation{}})
}

func (h *Handler) renderOrgs(w http.ResponseWriter, r *http.Request, status int, d *orgsData) error {
	p := h.newPage(r, "Organisations", "admin", d)
	if err := requireOrgPages(p); err != nil {
		return err
	}
	d.Create = p.NavCan[string(vigil.PermOrgAdmin)]
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	orgs, err := h.Services.Orgs.FindOrganisations(r.Context())
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if d.Create || o.Role == vigil.RoleAdmin {
			d.Orgs = append(d.Orgs, o)
		}
	}
	return h.render(w, r, status, "admin_orgs.html", p)
}

// orgFormValues reads an organisation's details from a form.
func orgFormValues(r *http.Request) *vigil.Organisation {
	f := r.PostForm
	return &vigil.Organisation{Slug: f.Get("slug"), Name: f.Get("name"), Sector: f.Get("sector"),
		ContactEmail: f.Get("contact_email"), ContactPhone: f.Get("contact_phone")}
}

func (h *Handler) adminOrgCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	o := orgFormValues(r)
	form := *o
	if err := h.Services.Orgs.CreateOrganisation(r.Context(), o); err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
			return h.renderOrgs(w, r, vigil.HTTPStatus(c), &orgsData{Form: &form, Errors: formErrors(err)})
		}
		return err
	}
	h.redirect(w, r, "/admin/organisations/"+o.Slug, o.Name+" created. Add its members next.")
	return nil
}

// formErrors is fieldErrors, with an error that names no field under
// "form", for the form's own message.
func formErrors(err error) map[string]string {
	errs := fieldErrors(err)
	if len(errs) == 0 {
		errs["form"] = vigil.ErrorMessage(err)
	}
	return errs
}

type orgData struct {
	Org     *vigil.Organisation
	Members []*vigil.Membership
	Roles   []vigil.Role
	// Form and Errors are the details form's; Member and MemberErrors
	// the add-a-member form's; MembersError a change to a member that
	// was refused.
	Form         *vigil.Organisation
	Errors       map[string]string
	Member       vigil.Membership
	MemberErrors map[string]string
	MembersError string
	Suspend      bool // the actor may suspend and resume it
	// GrantEdit: the actor is an administrator of this member, who alone
	// choose what the coordinator's staff see of its incidents.
	GrantEdit bool
	Grants    []vigil.Grant
}

func (h *Handler) adminOrg(w http.ResponseWriter, r *http.Request) error {
	return h.renderOrg(w, r, http.StatusOK, &orgData{Member: vigil.Membership{Role: vigil.RoleResponder}})
}

// renderOrg shows an organisation's page to its administrators and the
// install's; anyone else gets 404 for an organisation they do not belong
// to (the store's answer) and 403 for one they do.
func (h *Handler) renderOrg(w http.ResponseWriter, r *http.Request, status int, d *orgData) error {
	o, err := h.Services.Orgs.FindOrganisation(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	p := h.newPage(r, o.Name, "admin", d)
	d.Suspend = p.NavCan[string(vigil.PermOrgAdmin)]
	if !d.Suspend && o.Role != vigil.RoleAdmin {
		return vigil.Errorf(vigil.EFORBIDDEN, "Only the administrators of %s manage it.", o.Name)
	}
	d.Org, d.Roles, d.Grants = o, vigil.Roles, vigil.Grants
	d.GrantEdit = o.Kind == vigil.OrgMember && o.Role == vigil.RoleAdmin
	if d.Form == nil {
		d.Form = o
	}
	for _, m := range []*map[string]string{&d.Errors, &d.MemberErrors} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	if d.Members, err = h.Services.Orgs.FindMembers(r.Context(), o.Slug); err != nil {
		return err
	}
	p.Title = o.Name
	return h.render(w, r, status, "admin_org.html", p)
}

func (h *Handler) adminOrgUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	slug := r.PathValue("slug")
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	upd := vigil.OrganisationUpdate{Version: v}
	form := orgFormValues(r)
	form.Slug, form.Version = slug, v
	switch r.PostFormValue("suspended") {
	case "true":
		upd.Suspended = new(true)
	case "false":
		upd.Suspended = new(false)
	default:
		upd.Name, upd.Sector, upd.ContactEmail, upd.ContactPhone = &form.Name, &form.Sector, &form.ContactEmail, &form.ContactPhone
		if _, ok := r.PostForm["coordinator_grant"]; ok {
			form.CoordinatorGrant = vigil.Grant(r.PostFormValue("coordinator_grant"))
			upd.CoordinatorGrant = &form.CoordinatorGrant
		}
	}
	o, err := h.Services.Orgs.UpdateOrganisation(r.Context(), slug, upd)
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
			d := &orgData{Errors: formErrors(err), Member: vigil.Membership{Role: vigil.RoleResponder}}
			if upd.Suspended == nil {
				d.Form = form
			}
			return h.renderOrg(w, r, vigil.HTTPStatus(c), d)
		}
		return err
	}
	flash := o.Name + " saved."
	switch {
	case upd.Suspended != nil && *upd.Suspended:
		flash = o.Name + " is suspended: its incidents are read-only and its report page is closed. Nothing was deleted."
	case upd.Suspended != nil:
		flash = o.Name + " is active again."
	}
	h.redirect(w, r, "/admin/organisations/"+o.Slug, flash)
	return nil
}

func (h *Handler) adminOrgMemberAdd(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	slug := r.PathValue("slug")
	m := vigil.Membership{Username: strings.TrimSpace(r.PostFormValue("username")), Role: vigil.Role(r.PostFormValue("role"))}
	errs, status := map[string]string{}, statusInvalid
	if m.Username == "" {
		errs["username"] = "Give the username of someone who has an account."
	}
	if !m.Role.Valid() {
		errs["role"] = "Choose a role."
	}
	if len(errs) == 0 {
		added, err := h.Services.Orgs.AddMember(r.Context(), slug, m.Username, m.Role)
		if err == nil {
			h.redirect(w, r, "/admin/organisations/"+slug+"#members", added.Username+" is now "+string(added.Role)+".")
			return nil
		}
		c := vigil.ErrorCode(err)
		if c != vigil.EINVALID && c != vigil.ECONFLICT {
			return err
		}
		errs, status = formErrors(err), vigil.HTTPStatus(c)
		if _, ok := errs["form"]; ok {
			errs["username"] = errs["form"]
		}
	}
	return h.renderOrg(w, r, status, &orgData{Member: m, MemberErrors: errs})
}

// adminOrgMember changes a member's role, or with action "remove" ends
// their membership.
func (h *Handler) adminOrgMember(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	slug, username := r.PathValue("slug"), r.PathValue("username")
	var err error
	flash := username + " no longer belongs to the organisation."
	if r.PostFormValue("action") == "remove" {
		err = h.Services.Orgs.RemoveMember(r.Context(), slug, username)
	} else {
		var m *vigil.Membership
		if m, err = h.Services.Orgs.SetMemberRole(r.Context(), slug, username, vigil.Role(r.PostFormValue("role"))); err == nil {
			flash = m.Username + " is now " + string(m.Role) + "."
		}
	}
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
			return h.renderOrg(w, r, vigil.HTTPStatus(c), &orgData{Member: vigil.Membership{Role: vigil.RoleResponder}, MembersError: vigil.ErrorMessage(err)})
		}
		return err
	}
	h.redirect(w, r, "/admin/organisations/"+slug+"#members", flash)
	return nil
}

// grantLabel says what a grant lets the coordinator's staff see.
func grantLabel(g vigil.Grant) string {
	switch g {
	case vigil.GrantSummary:
		return "a summary"
	case vigil.GrantFull:
		return "everything, read-only"
	}
	return "nothing"
}
