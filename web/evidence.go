package web

import (
	"fmt"
	"io"
	"net/http"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// evidenceData is the evidence page.
type evidenceData struct {
	E        *vigil.Evidence
	Inc      *vigil.Incident
	Custody  []*vigil.CustodyEntry
	Errors   map[string]string
	Open     string // the form to show open after an error
	Transfer vigil.Transfer
}

func (h *Handler) evidenceID(r *http.Request) (int64, error) {
	return vigil.ParseID(r.PathValue("eid"))
}

// evidenceUpload takes the incident page's upload form as it streams in.
func (h *Handler) evidenceUpload(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentID(r)
	if err != nil {
		return err
	}
	e := &vigil.Evidence{IncidentID: id}
	err = vigilhttp.ReadEvidenceUpload(r, h.Location, e, func(e *vigil.Evidence, file io.Reader) error {
		return h.Services.Evidence.AddEvidence(r.Context(), e, file)
	})
	if vigil.ErrorCode(err) == vigil.ETOOLARGE {
		err = vigil.Invalid("file", "%s", vigil.ErrorMessage(err))
	}
	if err != nil {
		return h.formError(w, r, err, &incidentData{Section: "evidence", Open: "evidence"})
	}
	h.redirect(w, r, fmt.Sprintf("/evidence/%d", e.ID), fmt.Sprintf("Evidence added: %s, %s, SHA-256 %s.", e.Name, vigil.FormatBytes(e.Size), e.SHA256))
	return nil
}

func (h *Handler) evidencePackage(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentID(r)
	if err == nil {
		err = vigilhttp.ServeEvidencePackage(w, r, h.Services, id, h.Now())
	}
	return err
}

func (h *Handler) evidenceView(w http.ResponseWriter, r *http.Request) error {
	return h.showEvidence(w, r, http.StatusOK, &evidenceData{})
}

func (h *Handler) showEvidence(w http.ResponseWriter, r *http.Request, status int, d *evidenceData) error {
	id, err := h.evidenceID(r)
	if err == nil {
		err = vigilhttp.CustodyRead(r)
	}
	if err == nil {
		d.E, d.Custody, err = h.Services.Evidence.ViewEvidence(r.Context(), id)
	}
	if err == nil {
		d.Inc, err = h.Services.Incidents.FindIncidentByID(r.Context(), d.E.IncidentID)
	}
	if err != nil {
		return err
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	p := h.newPage(r, d.E.Name+" · "+d.Inc.Reference, "incidents", d)
	p.restrictTo(d.Inc.OrganisationID)
	return h.render(w, r, status, "evidence.html", p)
}

func (h *Handler) evidenceDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := h.evidenceID(r)
	if err == nil {
		err = vigilhttp.ServeEvidence(w, r, h.Services.Evidence, id)
	}
	return err
}

// evidenceAction runs one of the evidence page's forms.
func (h *Handler) evidenceAction(w http.ResponseWriter, r *http.Request) error {
	id, err := h.evidenceID(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	ctx := r.Context()
	back := fmt.Sprintf("/evidence/%d", id)
	action := r.PathValue("action")
	var flash string
	d := &evidenceData{Open: action}
	switch action {
	case "transfer":
		d.Transfer = vigil.Transfer{To: r.PostFormValue("to"), Detail: r.PostFormValue("detail")}
		if _, err = h.Services.Evidence.TransferEvidence(ctx, id, d.Transfer); err == nil {
			flash = "Transfer to " + d.Transfer.To + " recorded."
		}
	case "verify":
		var c *vigil.EvidenceCheck
		if c, err = h.Services.Evidence.VerifyEvidence(ctx, id); err == nil {
			flash = "Verified: the file matches its hashes and its custody log is intact."
			if c.Result != vigil.IntegrityOK {
				flash = "Verification FAILED (" + string(c.Result) + "): " + c.Problem
			}
		}
	case "hold", "release":
		if _, err = h.Services.Evidence.SetLegalHold(ctx, id, action == "hold", r.PostFormValue("reason")); err == nil {
			flash = map[string]string{"hold": "Legal hold placed.", "release": "Legal hold lifted."}[action]
		}
	case "delete":
		if err = h.Services.Evidence.DeleteEvidence(ctx, id, r.PostFormValue("reason")); err == nil {
			flash = "The file was deleted; its record and custody log remain."
		}
	default:
		err = vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	switch vigil.ErrorCode(err) {
	case "":
		h.redirect(w, r, back, flash)
	case vigil.EINVALID:
		d.Errors = fieldErrors(err)
		return h.showEvidence(w, r, statusInvalid, d)
	case vigil.ECONFLICT:
		d.Errors = map[string]string{"form": vigil.ErrorMessage(err)}
		return h.showEvidence(w, r, http.StatusConflict, d)
	default:
		return err
	}
	return nil
}
