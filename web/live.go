package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// Live updates are Server-Sent Events. Each stream checks a cheap mark of
// what it shows every LiveInterval (an incident's version, which every
// change to it bumps; for the list, the newest update time among the
// incidents the user may see) and sends an event when the mark moves; the
// page's script then fetches the page again and swaps in the parts that
// changed. Polling the store, not an in-process bus, means that several
// Vigil instances behind a load balancer see each other's changes.

func (h *Handler) incidentLive(w http.ResponseWriter, r *http.Request) error {
	id, err := h.incidentID(r)
	if err != nil {
		return err
	}
	h.stream(w, r, func(ctx context.Context) (string, string, error) {
		inc, err := h.Services.Incidents.FindIncidentByID(ctx, id)
		if err != nil {
			return "", "", err
		}
		by := ""
		page, err := h.Services.Timeline.FindTimeline(ctx, id, vigil.TimelineFilter{Limit: 1})
		if err == nil && len(page.Items) > 0 {
			by = page.Items[0].ActorName
		}
		return strconv.Itoa(inc.Version), by, nil
	})
	return nil
}

func (h *Handler) listLive(w http.ResponseWriter, r *http.Request) error {
	h.stream(w, r, func(ctx context.Context) (string, string, error) { return h.listMark(ctx), "", nil })
	return nil
}

// listMark is the newest update among the incidents the actor may see.
func (h *Handler) listMark(ctx context.Context) string {
	page, err := h.Services.Incidents.FindIncidents(ctx, vigil.IncidentFilter{Sort: vigil.SortUpdatedDesc, Limit: 1})
	if err != nil || len(page.Items) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d-%d", page.Items[0].UpdatedAt.UnixMicro(), page.Items[0].ID)
}

// stream sends an event whenever mark changes from the client's last mark
// (the "mark" query parameter the page was rendered with), until the
// client goes away or the server shuts down. The stream has no deadline
// (its route is marked vigilhttp.Stream); each check has the deadline of a
// request's store work, and one that finds the store unavailable is
// skipped: the next may find it back.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, mark func(context.Context) (string, string, error)) {
	rc := http.NewResponseController(w)
	// Live streams outlast the server's write timeout.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		h.Logger.DebugContext(r.Context(), "live: no deadline control", "err", err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	last := r.URL.Query().Get("mark")
	fmt.Fprintf(w, "retry: 3000\n\n")
	rc.Flush()
	tick := time.NewTicker(h.LiveInterval)
	defer tick.Stop()
	idle := 0
	for {
		ctx, cancel := context.WithTimeout(r.Context(), vigilhttp.StoreTimeout(r))
		m, by, err := mark(ctx)
		cancel()
		if c := vigil.ErrorCode(err); c == vigil.EUNAVAILABLE || c == vigil.ESTORAGEFULL {
			m = last // no news; the keep-alive below goes on
		} else if err != nil {
			// Gone, or no longer visible: tell the page, and stop.
			fmt.Fprintf(w, "event: gone\ndata: %s\n\n", vigil.ErrorMessage(err))
			rc.Flush()
			return
		}
		switch {
		case m != last && last != "":
			fmt.Fprintf(w, "event: change\ndata: {\"mark\":%q,\"by\":%q}\n\n", m, by)
			idle = 0
		case time.Duration(idle)*h.LiveInterval >= 20*time.Second:
			fmt.Fprintf(w, ": keep-alive\n\n") // through proxies that drop quiet connections
			idle = 0
		}
		last = m
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.closed:
			return
		case <-tick.C:
			idle++
		}
	}
}
