package web

import (
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/docs"
	"github.com/vigil-ir/vigil/markdown"
)

// commentCreate adds a comment (Markdown) to the incident.
func (h *Handler) commentCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentForm(w, r)
	if err != nil {
		return err
	}
	d := &incidentData{Section: "comments", Open: "comment", CommentText: r.PostFormValue("body")}
	c := &vigil.Comment{IncidentID: id, Body: d.CommentText}
	if err := h.Services.Comments.CreateComment(r.Context(), c); err != nil {
		return h.formError(w, r, err, d)
	}
	h.back(w, r, id, "comments", "Comment added.")
	return nil
}

// markdownPreview answers a form's text as the page would show it: the
// preview beside each Markdown field (vigil.js asks for it).
func (h *Handler) markdownPreview(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	src := r.PostFormValue("text")
	if len(src) > markdown.MaxLen {
		return vigil.Invalid("text", "That is too much text to preview.")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte(markdown.HTML(src)))
	return err
}

// helpData is a document of docs/ for the help page.
type helpData struct {
	Body template.HTML
}

// help shows one of Vigil's documents (docs/*.md), rendered.
func (h *Handler) help(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSuffix(r.PathValue("name"), ".md")
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return vigil.Errorf(vigil.ENOTFOUND, "No such document.")
	}
	src, err := fs.ReadFile(docs.Files, path.Clean(name+".md"))
	if err != nil {
		return vigil.Errorf(vigil.ENOTFOUND, "No such document.")
	}
	title := name
	if first, _, _ := strings.Cut(string(src), "\n"); strings.HasPrefix(first, "# ") {
		title = strings.TrimPrefix(first, "# ")
	}
	return h.render(w, r, http.StatusOK, "help.html", h.newPage(r, title, "", &helpData{Body: markdown.HTML(string(src))}))
}
