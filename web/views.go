package web

import (
	"net/http"
	"strings"

	"github.com/vigil-ir/vigil"
)

// viewCreate saves the incident list's current filters under a name.
func (h *Handler) viewCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	v := &vigil.SavedView{Name: r.PostFormValue("name"), Query: r.PostFormValue("query")}
	back := "/incidents?" + strings.TrimPrefix(r.PostFormValue("query"), "?")
	if err := h.Services.Views.CreateView(r.Context(), v); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			h.redirect(w, r, back, errorSentence(err))
			return nil
		}
		return err
	}
	h.redirect(w, r, "/incidents?"+v.Query, "View \u201c"+v.Name+"\u201d saved. It is on the incident list and the dashboard.")
	return nil
}

func (h *Handler) viewDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("vid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		err = h.Services.Views.DeleteView(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/incidents", "View deleted.")
	return nil
}
