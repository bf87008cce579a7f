package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

// dutyForm reads an incident duty form post: the incident and obligation
// IDs, the form, and the version the user saw.
func dutyForm(w http.ResponseWriter, r *http.Request) (incID, oid int64, version int, err error) {
	if incID, err = vigil.ParseID(r.PathValue("id")); err == nil {
		if oid, err = vigil.ParseID(r.PathValue("oid")); err == nil {
			err = parseForm(w, r)
		}
	}
	if err != nil {
		return 0, 0, 0, err
	}
	version, _ = strconv.Atoi(r.PostFormValue("version"))
	return incID, oid, version, nil
}

// dutyDone answers a duty form: back to the incident's duties, with what
// happened or what was wrong.
func (h *Handler) dutyDone(w http.ResponseWriter, r *http.Request, incID int64, o *vigil.Obligation, err error, done string) error {
	back := fmt.Sprintf("/incidents/%d#duties", incID)
	if err != nil {
		switch vigil.ErrorCode(err) {
		case vigil.EINVALID, vigil.ECONFLICT:
			h.redirect(w, r, back, errorSentence(err))
			return nil
		}
		return err
	}
	name := o.StageName
	if o.Round > 1 {
		name = fmt.Sprintf("%s (request %d)", name, o.Round)
	}
	h.redirect(w, r, back, done+": "+o.Title+" — "+name+".")
	return nil
}

func (h *Handler) dutySubmit(w http.ResponseWriter, r *http.Request) error {
	incID, oid, version, err := dutyForm(w, r)
	if err != nil {
		return err
	}
	o, err := h.Services.Duties.SubmitObligation(r.Context(), oid, vigil.Submission{Reference: r.PostFormValue("reference"),
		Text: text(r, "text"), LateReason: strings.TrimSpace(r.PostFormValue("late_reason")), Version: version})
	return h.dutyDone(w, r, incID, o, err, "Recorded as done")
}

func (h *Handler) dutyWaive(w http.ResponseWriter, r *http.Request) error {
	incID, oid, version, err := dutyForm(w, r)
	if err != nil {
		return err
	}
	o, err := h.Services.Duties.WaiveObligation(r.Context(), oid, r.PostFormValue("justification"), version)
	return h.dutyDone(w, r, incID, o, err, "Recorded as not required")
}

func (h *Handler) dutyRequest(w http.ResponseWriter, r *http.Request) error {
	incID, oid, version, err := dutyForm(w, r)
	if err != nil {
		return err
	}
	due, err := h.formTime(r.PostFormValue("due_at"))
	if err != nil || due == nil {
		h.redirect(w, r, fmt.Sprintf("/incidents/%d#duties", incID), "Give the deadline the request set, as a date and time.")
		return nil
	}
	o, err := h.Services.Duties.RequestObligation(r.Context(), oid, *due, version)
	return h.dutyDone(w, r, incID, o, err, "Requested")
}

func (h *Handler) dutyExplainDelay(w http.ResponseWriter, r *http.Request) error {
	incID, oid, version, err := dutyForm(w, r)
	if err != nil {
		return err
	}
	o, err := h.Services.Duties.ExplainDelay(r.Context(), oid, r.PostFormValue("late_reason"), version)
	return h.dutyDone(w, r, incID, o, err, "Reasons for the delay recorded")
}

// dutiesOverview lists every pending reporting duty on the incidents the
// actor may see (the store's visibility clause), soonest first, with the
// countdown, and each one's draft a click away on its incident.
func (h *Handler) dutiesOverview(w http.ResponseWriter, r *http.Request) error {
	// Every pending duty with a due time, or due as soon as possible:
	// "before" lies beyond any deadline a pack sets.
	obs, err := h.Services.Duties.FindDueObligations(r.Context(), h.Now().AddDate(10, 0, 0), vigil.MaxPageSize)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "duties.html", h.newPage(r, "Reporting duties", "dashboard", obs))
}
