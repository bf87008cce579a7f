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
func (h *Handler) dutyForm(w http.ResponseWriter, r *http.Request) (incID, oid int64, version int, ok bool) {
	var err error
	if incID, err = vigil.ParseID(r.PathValue("id")); err == nil {
		if oid, err = vigil.ParseID(r.PathValue("oid")); err == nil {
			err = parseForm(w, r)
		}
	}
	if err != nil {
		h.errorPage(w, r, err)
		return 0, 0, 0, false
	}
	version, _ = strconv.Atoi(r.PostFormValue("version"))
	return incID, oid, version, true
}

// dutyDone answers a duty form: back to the incident's duties, with what
// happened or what was wrong.
func (h *Handler) dutyDone(w http.ResponseWriter, r *http.Request, incID int64, o *vigil.Obligation, err error, done string) {
	back := fmt.Sprintf("/incidents/%d#duties", incID)
	if err != nil {
		switch vigil.ErrorCode(err) {
		case vigil.EINVALID, vigil.ECONFLICT:
			h.redirect(w, r, back, errorSentence(err))
		default:
			h.errorPage(w, r, err)
		}
		return
	}
	h.redirect(w, r, back, done+": "+o.Title+" — "+o.StageName+".")
}

func (h *Handler) dutySubmit(w http.ResponseWriter, r *http.Request) {
	incID, oid, version, ok := h.dutyForm(w, r)
	if !ok {
		return
	}
	o, err := h.Services.Duties.SubmitObligation(r.Context(), oid, vigil.Submission{Reference: r.PostFormValue("reference"),
		Text: text(r, "text"), LateReason: strings.TrimSpace(r.PostFormValue("late_reason")), Version: version})
	h.dutyDone(w, r, incID, o, err, "Recorded as done")
}

func (h *Handler) dutyWaive(w http.ResponseWriter, r *http.Request) {
	incID, oid, version, ok := h.dutyForm(w, r)
	if !ok {
		return
	}
	o, err := h.Services.Duties.WaiveObligation(r.Context(), oid, r.PostFormValue("justification"), version)
	h.dutyDone(w, r, incID, o, err, "Recorded as not required")
}
