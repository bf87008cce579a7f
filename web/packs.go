package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/duty"
)

type packsData struct {
	Packs  []*vigil.PackInfo
	Pretty map[string]string // pack id -> indented JSON
	// Stages lists each pack's stages with what they cite, by pack id.
	Stages map[string][]packStage
	Edit   string // the pack id whose form failed, or "new"
	Body   string // that form's text, kept
	Errors []vigil.FieldError
	Err    string
}

// packStage is one stage of a pack as the Duty packs page lists it: what
// is due when, and the text it follows.
type packStage struct {
	Duty, Stage, Due, Basis, Source string
	Uncited                         bool // the stage cites nothing of its own; the duty's basis stands in
}

// packStages lists a pack's stages from its JSON.
func packStages(body []byte) []packStage {
	p, err := duty.Parse(body)
	if err != nil {
		return nil
	}
	var out []packStage
	for _, d := range p.Duties {
		for _, s := range d.Stages {
			ps := packStage{Duty: d.Title, Stage: s.Name, Due: s.Due, Basis: s.Basis, Source: s.Source}
			if strings.TrimSpace(s.Basis) == "" || s.Source == "" {
				ps.Uncited = true
				if ps.Basis == "" {
					ps.Basis = d.Basis
				}
			}
			out = append(out, ps)
		}
	}
	return out
}

func (h *Handler) adminPacks(w http.ResponseWriter, r *http.Request) error {
	return h.renderPacks(w, r, http.StatusOK, &packsData{})
}

func (h *Handler) renderPacks(w http.ResponseWriter, r *http.Request, status int, d *packsData) error {
	if err := requirePerm(r, vigil.PermSettingsAdmin); err != nil {
		return err
	}
	var err error
	if d.Packs, err = h.Services.Duties.FindPacks(r.Context()); err != nil {
		return err
	}
	d.Pretty, d.Stages = map[string]string{}, map[string][]packStage{}
	for _, p := range d.Packs {
		d.Stages[p.ID] = packStages(p.Body)
		var b bytes.Buffer
		if json.Indent(&b, p.Body, "", "  ") == nil {
			d.Pretty[p.ID] = b.String()
		} else {
			d.Pretty[p.ID] = string(p.Body)
		}
	}
	if d.Edit != "" && d.Edit != "new" {
		d.Pretty[d.Edit] = d.Body
	}
	return h.render(w, r, status, "admin_packs.html", h.newPage(r, "Duty packs", "admin", d))
}

func (h *Handler) adminPackSave(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	body := text(r, "body")
	edit := r.PostFormValue("edit")
	if edit == "" {
		edit = "new"
	}
	info, err := h.Services.Duties.SavePack(r.Context(), []byte(body))
	if err != nil {
		if c := vigil.ErrorCode(err); c == vigil.EINVALID || c == vigil.ECONFLICT {
			return h.renderPacks(w, r, vigil.HTTPStatus(c), &packsData{Edit: edit, Body: body, Errors: vigil.ErrorFields(err),
				Err: vigil.ErrorMessage(err)})
		}
		return err
	}
	h.redirect(w, r, "/admin/duty-packs", "Pack "+info.Name+" saved; open incidents were evaluated again.")
	return nil
}

func (h *Handler) adminPackDelete(w http.ResponseWriter, r *http.Request) error {
	err := parseForm(w, r)
	if err == nil {
		err = h.Services.Duties.DeletePack(r.Context(), r.PathValue("pack"))
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/duty-packs", "Pack removed; a shipped pack of that id is in force again.")
	return nil
}
