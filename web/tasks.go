package web

import (
	"net/http"
	"net/url"

	"github.com/vigil-ir/vigil"
)

// taskBoardData is the task board: tasks across the incidents the actor
// may see, by due time, filtered.
type taskBoardData struct {
	Tasks   []*vigil.Task
	Total   int
	Who     string // "me" or "" (anyone)
	Status  string // "open" (open or in progress), "done", or "" (any)
	Overdue bool
	All     bool // the tasks of incidents no longer open too
	Users   map[int64]string
	Query   url.Values
}

// taskBoard lists tasks across incidents: mine or anyone's, open, done
// or any, overdue only; by default the open tasks of open incidents and
// follow-up actions. Every row goes through the store's visibility
// clause, so a member organisation's people see their own only.
func (h *Handler) taskBoard(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	d := &taskBoardData{Who: q.Get("who"), Status: q.Get("status"), Overdue: q.Get("overdue") == "1", All: q.Get("all") == "1", Query: q}
	if _, ok := r.URL.Query()["status"]; !ok {
		d.Status = "open"
	}
	f := vigil.TaskFilter{Overdue: d.Overdue, Live: !d.All, Limit: vigil.MaxPageSize}
	switch d.Status {
	case "open":
		f.Status = []vigil.TaskStatus{vigil.TaskOpen, vigil.TaskInProgress}
	case "done":
		f.Status = []vigil.TaskStatus{vigil.TaskDone, vigil.TaskCancelled}
	default:
		d.Status = ""
	}
	if d.Who == "me" {
		me := vigil.ActorFromContext(r.Context()).UserID
		f.AssigneeID = &me
	} else {
		d.Who = ""
	}
	var err error
	if d.Tasks, d.Total, err = h.Services.Tasks.FindTasks(r.Context(), f); err != nil {
		return err
	}
	_, d.Users = h.users(r, 0)
	return h.render(w, r, http.StatusOK, "tasks.html", h.newPage(r, "Tasks", "dashboard", d))
}
