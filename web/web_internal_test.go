package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestErrorPage: a handler's error becomes a page with the status
// vigil.HTTPStatus gives its code, the API's; only an internal error is
// logged, and only its message is withheld.
func TestErrorPage(t *testing.T) {
	var log bytes.Buffer
	h, err := New(vigil.Services{}, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		err    error
		status int
		shows  string
		logged bool
	}{
		{vigil.Errorf(vigil.EINVALID, "Give a title."), http.StatusBadRequest, "Give a title.", false},
		{vigil.Errorf(vigil.ENOTFOUND, "No such incident."), http.StatusNotFound, "No such incident.", false},
		{vigil.Errorf(vigil.ECONFLICT, "Changed meanwhile."), http.StatusConflict, "Changed meanwhile.", false},
		{vigil.Errorf(vigil.ETOOLARGE, "The file is over 2 GB."), http.StatusRequestEntityTooLarge, "The file is over 2 GB.", false},
		{vigil.Errorf(vigil.EPRECONDITION, "Say which version you saw."), http.StatusPreconditionRequired, "Say which version you saw.", false},
		{vigil.Errorf(vigil.ENOTIMPLEMENTED, "Not on this database."), http.StatusNotImplemented, "Not on this database.", false},
		{vigil.Wrap(errors.New("dial tcp: connection refused"), vigil.EUNAVAILABLE, "The database is not available right now."),
			http.StatusServiceUnavailable, "The database is not available right now.", false},
		{vigil.Wrap(errors.New("no space left on device"), vigil.ESTORAGEFULL, "The disk is full."), http.StatusInsufficientStorage, "The disk is full.", false},
		{fmt.Errorf("acquire: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "did not finish in time", false},
		{errors.New("disk on fire"), http.StatusInternalServerError, "Something went wrong on our side", true},
	} {
		t.Run(vigil.ErrorCode(tt.err), func(t *testing.T) {
			log.Reset()
			w := httptest.NewRecorder()
			h.serve(func(http.ResponseWriter, *http.Request) error { return tt.err })(w, httptest.NewRequest(http.MethodGet, "/somewhere", nil))
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			if got, want := w.Header().Get("Retry-After") != "", w.Code == http.StatusServiceUnavailable; got != want {
				t.Errorf("Retry-After %q with status %d", w.Header().Get("Retry-After"), w.Code)
			}
			if body := w.Body.String(); !strings.Contains(body, tt.shows) || strings.Contains(body, "disk on fire") || strings.Contains(body, "connection refused") {
				t.Errorf("page does not show %q, or shows the internal error:\n%s", tt.shows, body)
			}
			if logged := strings.Contains(log.String(), "page error"); logged != tt.logged {
				t.Errorf("logged = %v, want %v: %s", logged, tt.logged, log.String())
			}
		})
	}
}

// TestCloseErrors: a close-out's problems are keyed by the task or duty it
// names, as the close form shows them beside each.
func TestCloseErrors(t *testing.T) {
	tr := vigil.Transition{To: vigil.StatusClosed, Tasks: []vigil.TaskCloseOut{{TaskID: 7}, {TaskID: 9}}, Duties: []vigil.DutyCloseOut{{ObligationID: 4}}}
	var p vigil.Problems
	p.Add("tasks[1].action", "bad action")
	p.Add("duties[0].reason", "say why")
	p.Add("open_work", "still open")
	got := closeErrors(p.Err(), tr)
	want := map[string]string{"task-9": "bad action", "duty-4": "say why", "open_work": "still open"}
	if len(got) != len(want) {
		t.Fatalf("closeErrors = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("closeErrors[%q] = %q, want %q", k, got[k], v)
		}
	}
}
