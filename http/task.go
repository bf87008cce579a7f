package http

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigil-ir/vigil"
)

// TaskCreate is the body of POST /api/v1/incidents/{id}/tasks.
type TaskCreate struct {
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Phase       vigil.Phase      `json:"phase"`
	Status      vigil.TaskStatus `json:"status"`
	AssigneeID  *int64           `json:"assignee_id"`
	DueAt       *time.Time       `json:"due_at"`
}

// TaskList is a list of tasks.
type TaskList struct {
	Items []*vigil.Task `json:"items"`
	Total int           `json:"total"`
}

// TaskOrder is the body of PUT /api/v1/incidents/{id}/tasks/order.
type TaskOrder struct {
	IDs []int64 `json:"ids"`
}

func (s *Server) handleIncidentTaskList(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.Services.Incidents.FindIncidentByID(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	tasks, n, err := s.Services.Tasks.FindTasks(r.Context(), vigil.TaskFilter{IncidentID: &id})
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: n})
}

func (s *Server) handleTaskList(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "assignee", "status", "overdue", "offset", "limit")
	f := vigil.TaskFilter{AssigneeID: q.user("assignee"), Status: enumList[vigil.TaskStatus](q, "status"),
		Offset: q.int("offset", 0), Limit: q.int("limit", 0)}
	if b := q.bool("overdue"); b != nil {
		f.Overdue = *b
	}
	for _, st := range f.Status {
		if !slices.Contains(vigil.TaskStatuses, st) {
			q.p.Add("status", "Unknown task status %q.", st)
		}
	}
	if f.Offset < 0 {
		q.p.Add("offset", "Offset must not be negative.")
	}
	if err := q.err(); err != nil {
		s.error(w, r, err)
		return
	}
	tasks, n, err := s.Services.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: n})
}

func (s *Server) handleTaskCreate(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var req TaskCreate
	if !s.decode(w, r, &req) {
		return
	}
	t := &vigil.Task{IncidentID: id, Title: req.Title, Description: req.Description, Phase: req.Phase,
		Status: req.Status, AssigneeID: req.AssigneeID, DueAt: req.DueAt}
	if err := s.Services.Tasks.CreateTask(r.Context(), t); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tasks/"+strconv.FormatInt(t.ID, 10))
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusCreated, t)
}

func (s *Server) handleTaskView(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	t, err := s.Services.Tasks.FindTaskByID(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusOK, t)
}

func (s *Server) handleTaskUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	var upd vigil.TaskUpdate
	if !s.decode(w, r, &upd) {
		return
	}
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		s.error(w, r, err)
		return
	}
	t, err := s.Services.Tasks.UpdateTask(r.Context(), id, upd)
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		cur, ferr := s.Services.Tasks.FindTaskByID(r.Context(), id)
		if ferr == nil {
			w.Header().Set("ETag", etag(cur.Version))
			s.problem(w, r, &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err), Current: cur})
			return
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusOK, t)
}

func (s *Server) handleTaskReorder(w http.ResponseWriter, r *http.Request) {
	id, err := s.incidentID(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var req TaskOrder
	if !s.decode(w, r, &req) {
		return
	}
	tasks, err := s.Services.Tasks.ReorderTasks(r.Context(), id, req.IDs)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: len(tasks)})
}
