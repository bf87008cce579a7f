package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/vigil-ir/vigil"
)

// The staff report page is public: any member of staff can tell the
// security team that something looks wrong, anonymously if they wish.
// Abuse is held off without third parties: a rate limit per address, size
// limits, and a honeypot field that people never see and bots fill in.

type reportData struct {
	Form    *vigil.StaffReport
	When    string
	Errors  map[string]string
	Receipt string
	Ref     string
	Status  *vigil.ReportStatus
	Code    string
	AddText string
	// Token is the form's submit_token (see once).
	Token string
	// Base is the path of the page's organisation's report page
	// (/report for the default organisation), OrgSlug its slug ("" for
	// the default organisation) and Org its name, which the pages of
	// the other organisations show.
	Base    string
	OrgSlug string
	Org     string
}

// reportOrg reads the organisation of a report page from the path: none
// is the default organisation, whose page is /report as before. An
// unknown or suspended one is ENOTFOUND (the error page), the same for
// both.
func (h *Handler) reportOrg(r *http.Request) (*reportData, error) {
	d := &reportData{Base: "/report", Errors: map[string]string{}}
	slug := r.PathValue("slug")
	if slug == "" {
		return d, nil
	}
	pg, err := h.Services.Reports.FindReportPage(r.Context(), slug)
	if err != nil {
		return nil, err
	}
	d.OrgSlug, d.Base = pg.Organisation, reportBase(pg.Organisation)
	if pg.Organisation != vigil.DefaultOrganisationSlug {
		d.Org = pg.Name
	}
	return d, nil
}

func (h *Handler) publicPage(r *http.Request, title string, d any) *page {
	p := h.newPage(r, title, "", d)
	p.Public = true
	return p
}

func (h *Handler) reportForm(w http.ResponseWriter, r *http.Request) error {
	d, err := h.reportOrg(r)
	if err != nil {
		return err
	}
	d.Form, d.Token = &vigil.StaffReport{PersonalData: "unsure"}, newSubmitToken()
	return h.render(w, r, http.StatusOK, "report.html", h.publicPage(r, "Report a problem", d))
}

// limited answers a client over its rate limit: try again after wait.
func (h *Handler) limited(w http.ResponseWriter, r *http.Request, wait time.Duration) error {
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
	return h.render(w, r, http.StatusTooManyRequests, "error.html", h.publicPage(r, "Please wait",
		"We have had a lot of reports from your address. Please wait a few minutes and try again, or phone the IT service desk."))
}

// receipt is the answer to a staff report kept for a repeat of its form.
type receipt struct {
	Code string `json:"code"`
	Ref  string `json:"ref"`
}

// errWhen refuses a report whose time could not be read; errLimited one
// from an address over the rate limit (the page says when to try again).
var (
	errWhen    = vigil.Invalid("when", "Give a date and time, or leave it empty.")
	errLimited = vigil.Errorf(vigil.ETOOMANY, "Too many reports from this address.")
)

func (h *Handler) reportSubmit(w http.ResponseWriter, r *http.Request) error {
	d, err := h.reportOrg(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "error.html", h.publicPage(r, "Report a problem", vigil.ErrorMessage(err)))
	}
	f := r.PostForm
	rep := &vigil.StaffReport{Organisation: d.OrgSlug, What: text(r, "what"), System: f.Get("system"), PersonalData: f.Get("personal_data"),
		Name: f.Get("name"), Email: f.Get("email"), Phone: f.Get("phone")}
	d.Form, d.When, d.Token = rep, f.Get("when"), f.Get(submitTokenField)
	if !validSubmitToken(d.Token) {
		d.Token = newSubmitToken()
	}
	if f.Get("website") != "" {
		// The honeypot: only a bot fills a field nobody can see. Thank it
		// and file nothing.
		h.Logger.InfoContext(r.Context(), "report honeypot filled", "ip", clientIP(r))
		return h.render(w, r, http.StatusOK, "report_done.html", h.publicPage(r, "Thank you", d))
	}
	// The form sent twice files one report, and the second answer shows
	// the same receipt; a repeat is not counted against the rate limit.
	var wait time.Duration
	answer, err := h.once(r, "POST "+d.Base, []string{rep.What, d.When, rep.System, rep.PersonalData, rep.Name, rep.Email, rep.Phone},
		func(ctx context.Context) ([]byte, bool, error) {
			var ok bool
			if ok, wait = h.reportLimiter.Allow(clientIP(r), h.Now()); !ok {
				return nil, false, errLimited
			}
			when, err := h.formTime(d.When)
			if err != nil {
				return nil, false, errWhen
			}
			rep.When = when
			code, ref, err := h.Services.Reports.SubmitReport(ctx, rep)
			if err != nil {
				return nil, false, err
			}
			answer, err := json.Marshal(receipt{Code: code, Ref: ref})
			return answer, err == nil, err
		})
	switch {
	case err == errLimited:
		return h.limited(w, r, wait)
	case vigil.ErrorCode(err) == vigil.EINVALID:
		d.Errors = fieldErrors(err)
		return h.render(w, r, statusInvalid, "report.html", h.publicPage(r, "Report a problem", d))
	case vigil.ErrorCode(err) == vigil.ECONFLICT || vigil.ErrorCode(err) == vigil.EIDEMPOTENCY || vigil.ErrorCode(err) == vigil.EANSWERLOST:
		return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "error.html", h.publicPage(r, "Report a problem", vigil.ErrorMessage(err)))
	case err != nil:
		return err
	}
	var rc receipt
	if err := json.Unmarshal(answer, &rc); err != nil {
		return fmt.Errorf("read the report's receipt: %w", err)
	}
	d.Receipt, d.Ref = rc.Code, rc.Ref
	return h.render(w, r, http.StatusOK, "report_done.html", h.publicPage(r, "Thank you", d))
}

// reportStatus shows the form for a receipt code, and on POST the status.
// The code travels in POST bodies only, never in URLs that end up in logs
// and browser history.
func (h *Handler) reportStatus(w http.ResponseWriter, r *http.Request) error {
	d, err := h.reportOrg(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		return h.render(w, r, http.StatusOK, "report_status.html", h.publicPage(r, "Check a report", d))
	}
	if err := parseForm(w, r); err != nil {
		return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "error.html", h.publicPage(r, "Check a report", vigil.ErrorMessage(err)))
	}
	if ok, wait := h.statusLimiter.Allow(clientIP(r), h.Now()); !ok {
		return h.limited(w, r, wait)
	}
	d.Code = r.PostFormValue("receipt")
	return h.showReportStatus(w, r, http.StatusOK, d)
}

func (h *Handler) showReportStatus(w http.ResponseWriter, r *http.Request, status int, d *reportData) error {
	d.Token = newSubmitToken() // for the form that adds to the report
	st, err := h.Services.Reports.FindReport(r.Context(), d.OrgSlug, d.Code)
	if err != nil {
		if vigil.ErrorCode(err) != vigil.ENOTFOUND {
			return err
		}
		d.Errors["receipt"] = vigil.ErrorMessage(err)
		status = http.StatusNotFound
	}
	d.Status = st
	return h.render(w, r, status, "report_status.html", h.publicPage(r, "Check a report", d))
}

func (h *Handler) reportAdd(w http.ResponseWriter, r *http.Request) error {
	d, err := h.reportOrg(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "error.html", h.publicPage(r, "Check a report", vigil.ErrorMessage(err)))
	}
	if ok, wait := h.statusLimiter.Allow(clientIP(r), h.Now()); !ok {
		return h.limited(w, r, wait)
	}
	d.Code, d.AddText = r.PostFormValue("receipt"), text(r, "text")
	// The form sent twice adds the text once.
	_, err = h.once(r, "POST "+d.Base+"/status/add", []string{d.Code, d.AddText}, func(ctx context.Context) ([]byte, bool, error) {
		return nil, true, h.Services.Reports.AddToReport(ctx, d.OrgSlug, d.Code, d.AddText)
	})
	if err != nil {
		switch vigil.ErrorCode(err) {
		case vigil.EINVALID:
			d.Errors = fieldErrors(err)
			return h.showReportStatus(w, r, statusInvalid, d)
		case vigil.ENOTFOUND:
			d.Errors["receipt"] = vigil.ErrorMessage(err)
			return h.render(w, r, http.StatusNotFound, "report_status.html", h.publicPage(r, "Check a report", d))
		case vigil.ECONFLICT, vigil.EIDEMPOTENCY, vigil.EANSWERLOST:
			return h.render(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), "error.html", h.publicPage(r, "Check a report", vigil.ErrorMessage(err)))
		}
		return err
	}
	d.AddText = ""
	d.Token = newSubmitToken()
	p := h.publicPage(r, "Check a report", d)
	p.Flash = "Thank you. We have added that to your report."
	st, err := h.Services.Reports.FindReport(r.Context(), d.OrgSlug, d.Code)
	if err != nil {
		return err
	}
	d.Status = st
	return h.render(w, r, http.StatusOK, "report_status.html", p)
}
