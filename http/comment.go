package http

import (
	"net/http"
	"strconv"

	"github.com/vigil-ir/vigil"
)

// CommentCreate is the body of POST /api/v1/incidents/{id}/comments.
type CommentCreate struct {
	Body   string `json:"body"`
	TaskID *int64 `json:"task_id"`
}

// CommentUpdate is the body of PATCH /api/v1/comments/{id}.
type CommentUpdate struct {
	Body    string `json:"body"`
	Version int    `json:"version"`
}

// CommentList is a list of comments.
type CommentList struct {
	Items []*vigil.Comment `json:"items"`
}

func (s *Server) handleCommentList(w http.ResponseWriter, r *http.Request, id int64) error {
	q := newQuery(r, "task")
	var task *int64
	if v := q.str("task"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			q.p.Add("task", "Must be a task ID.")
		}
		task = &n
	}
	if err := q.err(); err != nil {
		return err
	}
	list, err := s.Services.Comments.FindComments(r.Context(), id, task)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, &CommentList{Items: list})
	return nil
}

func (s *Server) handleCommentCreate(w http.ResponseWriter, r *http.Request, id int64) error {
	var req CommentCreate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	c := &vigil.Comment{IncidentID: id, TaskID: req.TaskID, Body: req.Body}
	if err := s.Services.Comments.CreateComment(r.Context(), c); err != nil {
		return err
	}
	s.json(w, http.StatusCreated, c)
	return nil
}

func (s *Server) handleCommentUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req CommentUpdate
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.Version, err = versioned(r, req.Version); err != nil {
		return err
	}
	c, err := s.Services.Comments.UpdateComment(r.Context(), id, req.Body, req.Version)
	if vigil.ErrorCode(err) == vigil.ECONFLICT {
		return &Problem{Status: http.StatusPreconditionFailed, Code: vigil.ECONFLICT, Detail: vigil.ErrorMessage(err)}
	} else if err != nil {
		return err
	}
	s.json(w, http.StatusOK, c)
	return nil
}
