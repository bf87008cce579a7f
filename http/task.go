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

func (s *Server) handleIncidentTaskList(w http.ResponseWriter, r *http.Request, id int64) error {
	if _, err := s.Services.Incidents.FindIncidentByID(r.Context(), id); err != nil {
		return err
	}
	tasks, n, err := s.Services.Tasks.FindTasks(r.Context(), vigil.TaskFilter{IncidentID: &id})
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: n})
	return nil
}

func (s *Server) handleTaskList(w http.ResponseWriter, r *http.Request) error {
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
		return err
	}
	tasks, n, err := s.Services.Tasks.FindTasks(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: n})
	return nil
}

func (s *Server) handleTaskCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var req TaskCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	t := &vigil.Task{IncidentID: id, Title: req.Title, Description: req.Description, Phase: req.Phase,
		Status: req.Status, AssigneeID: req.AssigneeID, DueAt: req.DueAt}
	if err := s.Services.Tasks.CreateTask(r.Context(), t); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tasks/"+strconv.FormatInt(t.ID, 10))
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusCreated, t)
	return nil
}

func (s *Server) handleTaskView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	t, err := s.Services.Tasks.FindTaskByID(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusOK, t)
	return nil
}

func (s *Server) handleTaskUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var upd vigil.TaskUpdate
	if err := s.decode(w, r, &upd); err != nil {
		return err
	}
	if upd.Version, err = versioned(r, upd.Version); err != nil {
		return err
	}
	t, err := s.Services.Tasks.UpdateTask(r.Context(), id, upd)
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		cur, ferr := s.Services.Tasks.FindTaskByID(r.Context(), id)
		if ferr == nil {
			w.Header().Set("ETag", etag(cur.Version))
			return &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err), Current: cur}
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(t.Version))
	s.json(w, http.StatusOK, t)
	return nil
}

func (s *Server) handleTaskReorder(w http.ResponseWriter, r *http.Request, id int64) error {
	var req TaskOrder
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	tasks, err := s.Services.Tasks.ReorderTasks(r.Context(), id, req.IDs)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &TaskList{Items: tasks, Total: len(tasks)})
	return nil
}
