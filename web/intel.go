package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
)

// intelData is the threat intelligence page: hits, collections and, for
// administrators, partners and feeds.
type intelData struct {
	Hits        *vigil.HitPage
	Collections []*vigil.Collection
	Partners    []*vigil.Partner
	Feeds       []*vigil.Feed
	TAXIIRoot   string // the API root partners are given
	Admin       bool
	TLPs        []vigil.TLP
	Collection  *vigil.Collection // the forms, with a failed input
	Partner     *vigil.Partner
	Feed        *vigil.Feed
	Token       string // a partner's token, just made: shown once
	TokenFor    string
	Errors      map[string]string
	CollTitles  map[string]string
	FeedMinutes int // the add-feed form's poll interval
}

func (h *Handler) intel(w http.ResponseWriter, r *http.Request) error {
	return h.renderIntel(w, r, http.StatusOK, &intelData{})
}

func (h *Handler) renderIntel(w http.ResponseWriter, r *http.Request, status int, d *intelData) error {
	if err := requirePerm(r, vigil.PermAlertRead); err != nil {
		return err
	}
	ctx := r.Context()
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	var err error
	if d.Hits, err = h.Services.IOC.FindHits(ctx, vigil.HitFilter{Before: before, Limit: 50}); err != nil {
		return err
	}
	if d.Collections, err = h.Services.Sharing.FindCollections(ctx); err != nil {
		return err
	}
	d.CollTitles = map[string]string{}
	for _, c := range d.Collections {
		d.CollTitles[c.ID] = c.Title
	}
	d.Admin = vigil.ActorFromContext(ctx).Can(vigil.PermSettingsAdmin)
	if d.Admin {
		if d.Partners, err = h.Services.Sharing.FindPartners(ctx); err == nil {
			d.Feeds, err = h.Services.Feeds.FindFeeds(ctx)
		}
		if err != nil {
			return err
		}
	}
	scheme := "http"
	if r.TLS != nil || h.SecureCookies {
		scheme = "https"
	}
	d.TAXIIRoot = scheme + "://" + r.Host + "/taxii2/api/"
	d.TLPs = []vigil.TLP{vigil.TLPClear, vigil.TLPGreen, vigil.TLPAmber}
	if d.Collection == nil {
		d.Collection = &vigil.Collection{}
	}
	if d.Partner == nil {
		d.Partner = &vigil.Partner{MaxTLP: vigil.TLPGreen}
	}
	if d.Feed == nil {
		d.Feed = &vigil.Feed{}
		d.FeedMinutes = 60
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "intel.html", h.newPage(r, "Threat intelligence", "intel", d))
}

func (h *Handler) collectionCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	c := &vigil.Collection{Title: r.PostForm.Get("title"), Description: r.PostForm.Get("description")}
	if err := h.Services.Sharing.CreateCollection(r.Context(), c); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderIntel(w, r, statusInvalid, &intelData{Collection: c, Errors: prefixed("collection.", err)})
		}
		return err
	}
	h.redirect(w, r, "/intel#collections", "Collection "+c.Title+" added.")
	return nil
}

func (h *Handler) partnerCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	p := &vigil.Partner{Name: f.Get("name"), Contact: f.Get("contact"), IdentityRef: strings.TrimSpace(f.Get("identity_ref")), MaxTLP: vigil.TLP(f.Get("max_tlp"))}
	acc := map[string]*vigil.CollectionAccess{}
	var order []string
	for _, right := range []string{"read", "write"} {
		for _, id := range f[right] {
			a := acc[id]
			if a == nil {
				a = &vigil.CollectionAccess{CollectionID: id}
				acc[id] = a
				order = append(order, id)
			}
			a.Read = a.Read || right == "read"
			a.Write = a.Write || right == "write"
		}
	}
	for _, id := range order {
		p.Access = append(p.Access, *acc[id])
	}
	token, err := h.Services.Sharing.CreatePartner(r.Context(), p)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return h.renderIntel(w, r, statusInvalid, &intelData{Partner: p, Errors: prefixed("partner.", err)})
		}
		return err
	}
	// The token is shown on this answer only.
	return h.renderIntel(w, r, http.StatusCreated, &intelData{Token: token, TokenFor: p.Name})
}

func (h *Handler) partnerRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("pid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		err = h.Services.Sharing.RevokePartner(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/intel#partners", "Partner revoked: its credentials no longer work.")
	return nil
}

func (h *Handler) feedCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	interval, _ := strconv.Atoi(f.Get("poll_interval"))
	fd := &vigil.Feed{Name: f.Get("name"), URL: f.Get("url"), Username: f.Get("username"), Password: f.Get("password"),
		CollectionID: f.Get("collection_id"), PollInterval: interval * 60}
	if err := h.Services.Feeds.CreateFeed(r.Context(), fd); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			fd.Password = ""
			return h.renderIntel(w, r, statusInvalid, &intelData{Feed: fd, FeedMinutes: interval, Errors: prefixed("feed.", err)})
		}
		return err
	}
	h.redirect(w, r, "/intel#feeds", "Feed "+fd.Name+" added: the first poll runs within a minute.")
	return nil
}

// prefixed is fieldErrors with each field named under a form's prefix,
// so that the page's three forms keep their errors apart.
func prefixed(prefix string, err error) map[string]string {
	out := map[string]string{}
	for k, v := range fieldErrors(err) {
		out[prefix+k] = v
	}
	return out
}

// shareData is the preview of a hit's sighting.
type shareData struct {
	Hit         *vigil.IOCHit
	Collections []*vigil.Collection
	Collection  string
	Preview     string // the objects as JSON
	Error       string
}

// hitShare shows what sharing a hit's sighting sends (GET), and sends it
// (POST).
func (h *Handler) hitShare(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("hid"))
	if err != nil {
		return err
	}
	if err := requirePerm(r, vigil.PermIncidentEdit); err != nil {
		return err
	}
	ctx := r.Context()
	d := &shareData{}
	if d.Hit, err = h.Services.IOC.FindHit(ctx, id); err != nil {
		return err
	}
	back := "/intel"
	if d.Hit.IncidentID != nil {
		back = fmt.Sprintf("/incidents/%d#intel", *d.Hit.IncidentID)
	} else if d.Hit.AlertID != nil {
		back = fmt.Sprintf("/alerts/%d", *d.Hit.AlertID)
	}
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			return err
		}
		coll := r.PostForm.Get("collection_id")
		_, in, err := casework.PrepareSighting(ctx, h.Services, id)
		if err == nil {
			_, err = h.Services.IOC.ShareHit(ctx, id, coll, in)
		}
		if err != nil {
			return err
		}
		h.redirect(w, r, back, "Sighting shared.")
		return nil
	}
	all, err := h.Services.Sharing.FindCollections(ctx)
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.CanWrite {
			d.Collections = append(d.Collections, c)
		}
	}
	d.Collection = r.URL.Query().Get("collection")
	if d.Collection == "" && len(d.Collections) > 0 {
		d.Collection = d.Collections[0].ID
	}
	objs, _, err := casework.PrepareSighting(ctx, h.Services, id)
	if vigil.ErrorCode(err) == vigil.EFORBIDDEN {
		d.Error = vigil.ErrorMessage(err)
	} else if err != nil {
		return err
	} else {
		b, _ := json.MarshalIndent(objs, "", "  ")
		d.Preview = string(b)
	}
	return h.render(w, r, http.StatusOK, "hit_share.html", h.newPage(r, "Share a sighting", "intel", d))
}
