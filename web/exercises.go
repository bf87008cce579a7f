package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/casework"
)

type exercisesData struct {
	Exercises []*vigil.Exercise
	Plans     []*vigil.Plan
	Users     []*vigil.User
	Form      map[string]string
	Errors    map[string]string
}

func (h *Handler) exercises(w http.ResponseWriter, r *http.Request) error {
	return h.showExercises(w, r, http.StatusOK, &exercisesData{})
}

func (h *Handler) showExercises(w http.ResponseWriter, r *http.Request, status int, d *exercisesData) error {
	var err error
	if d.Exercises, err = h.Services.Exercises.FindExercises(r.Context()); err != nil {
		return err
	}
	d.Plans, _ = h.Services.Plans.FindPlans(r.Context())
	d.Users, _ = h.users(r, 0)
	if d.Form == nil {
		d.Form = map[string]string{"plan_id": r.URL.Query().Get("plan")}
	}
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "exercises.html", h.newPage(r, "Exercises", "prepare", d))
}

// parseInjects reads injects written one per line: "+15m Title: detail".
func parseInjects(s string) ([]vigil.InjectInput, error) {
	var out []vigil.InjectInput
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		after, rest, ok := strings.Cut(line, " ")
		d, err := time.ParseDuration(strings.TrimPrefix(after, "+"))
		if !ok || !strings.HasPrefix(after, "+") || err != nil {
			return nil, vigil.Invalid("injects", "Line %d: start each inject with the time after the start, such as \"+15m The press calls\".", i+1)
		}
		title, detail, _ := strings.Cut(rest, ": ")
		out = append(out, vigil.InjectInput{After: vigil.Duration(d), Title: title, Detail: detail})
	}
	return out, nil
}

func (h *Handler) exerciseCreate(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	d := &exercisesData{Form: map[string]string{}}
	for _, k := range []string{"title", "kind", "plan_id", "scenario", "scheduled_at", "injects"} {
		d.Form[k] = f.Get(k)
	}
	in := vigil.ExerciseInput{Title: f.Get("title"), Kind: vigil.ExerciseKind(f.Get("kind")), Scenario: f.Get("scenario")}
	in.PlanID, _ = strconv.ParseInt(f.Get("plan_id"), 10, 64)
	for _, v := range f["participant_ids"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.ParticipantIDs = append(in.ParticipantIDs, id)
		}
	}
	var err error
	if t, terr := h.formTime(f.Get("scheduled_at")); terr != nil {
		err = vigil.Invalid("scheduled_at", "Give a date and time.")
	} else if t != nil {
		in.ScheduledAt = *t
	}
	if err == nil {
		in.Injects, err = parseInjects(f.Get("injects"))
	}
	var x *vigil.Exercise
	if err == nil {
		x, err = h.Services.Exercises.CreateExercise(r.Context(), in)
	}
	switch vigil.ErrorCode(err) {
	case "":
		h.redirect(w, r, fmt.Sprintf("/exercises/%d", x.ID), "Exercise scheduled.")
	case vigil.EINVALID:
		d.Errors = fieldErrors(err)
		for k, v := range d.Errors {
			if strings.HasPrefix(k, "injects[") {
				d.Errors["injects"] = v
			}
		}
		return h.showExercises(w, r, statusInvalid, d)
	default:
		return err
	}
	return nil
}

type exerciseData struct {
	X      *vigil.Exercise
	Inc    *vigil.Incident
	Names  map[int64]string
	Errors map[string]string
}

func (h *Handler) exerciseView(w http.ResponseWriter, r *http.Request) error {
	return h.showExercise(w, r, http.StatusOK, &exerciseData{})
}

func (h *Handler) showExercise(w http.ResponseWriter, r *http.Request, status int, d *exerciseData) error {
	id, err := vigil.ParseID(r.PathValue("xid"))
	if err == nil {
		d.X, err = h.Services.Exercises.FindExerciseByID(r.Context(), id)
	}
	if err != nil {
		return err
	}
	if d.X.IncidentID != nil {
		d.Inc, _ = h.Services.Incidents.FindIncidentByID(r.Context(), *d.X.IncidentID)
	}
	_, d.Names = h.users(r, 0)
	if d.Errors == nil {
		d.Errors = map[string]string{}
	}
	return h.render(w, r, status, "exercise.html", h.newPage(r, d.X.Title, "prepare", d))
}

func (h *Handler) exerciseAction(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("xid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	var flash string
	switch r.PathValue("action") {
	case "start":
		if _, err = h.Services.Exercises.StartExercise(r.Context(), id, version); err == nil {
			flash = "Exercise started: its incident is open, marked EXERCISE, with the plan's tasks."
		}
	case "release":
		inject, _ := strconv.ParseInt(r.PostFormValue("inject"), 10, 64)
		if _, err = h.Services.Exercises.ReleaseInject(r.Context(), id, inject); err == nil {
			flash = "Inject released onto the exercise incident's timeline."
		}
	case "end":
		findings := strings.Split(strings.ReplaceAll(r.PostFormValue("findings"), "\r\n", "\n"), "\n")
		if _, err = h.Services.Exercises.EndExercise(r.Context(), id, vigil.ExerciseEnd{Findings: findings, Version: version}); err == nil {
			flash = "Exercise ended. Its findings are action items of the exercise incident's review."
		}
	default:
		err = vigil.Errorf(vigil.ENOTFOUND, "Not found.")
	}
	switch vigil.ErrorCode(err) {
	case "":
		h.redirect(w, r, fmt.Sprintf("/exercises/%d", id), flash)
	case vigil.EINVALID, vigil.ECONFLICT:
		errs := map[string]string{"form": vigil.ErrorMessage(err)}
		for _, f := range vigil.ErrorFields(err) {
			errs["form"] = f.Message
		}
		return h.showExercise(w, r, vigil.HTTPStatus(vigil.ErrorCode(err)), &exerciseData{Errors: errs})
	default:
		return err
	}
	return nil
}

type preparednessData struct {
	*casework.Preparedness
	Areas   []readinessArea
	OK, All int
	Names   map[int64]string
}

type readinessArea struct {
	Key, Title, Advice string
	Items              []vigil.ReadinessItem
}

var areaTitles = []readinessArea{
	{Key: "plans", Title: "Response plans", Advice: "A plan for each kind of incident, approved, reviewed at least yearly and after each incident that used it."},
	{Key: "exercises", Title: "Exercises", Advice: "Each plan tested in an exercise at least once a year."},
	{Key: "contacts", Title: "Key contacts", Advice: "The people a response needs, named, with details confirmed in the last six months."},
	{Key: "recovery", Title: "Vigil's own recovery", Advice: "Backups taken at least weekly, and a restore tested every quarter (vigil backup -verify)."},
	{Key: "lessons", Title: "Lessons learned", Advice: "Review action items done by their due dates."},
}

func (h *Handler) preparedness(w http.ResponseWriter, r *http.Request) error {
	p, err := casework.AssessPreparedness(r.Context(), h.Services, h.Now())
	if err != nil {
		return err
	}
	d := &preparednessData{Preparedness: p}
	for _, a := range areaTitles {
		for _, it := range p.Items {
			if it.Area == a.Key {
				a.Items = append(a.Items, it)
				d.All++
				if it.State == vigil.ReadyOK {
					d.OK++
				}
			}
		}
		d.Areas = append(d.Areas, a)
	}
	_, d.Names = h.users(r, 0)
	return h.render(w, r, http.StatusOK, "preparedness.html", h.newPage(r, "Preparedness", "prepare", d))
}

func (h *Handler) contactVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("cid"))
	if err == nil {
		err = parseForm(w, r)
	}
	if err == nil {
		_, err = h.Services.Contacts.VerifyContact(r.Context(), id)
	}
	if err != nil {
		return err
	}
	h.redirect(w, r, "/admin/contacts", "Contact confirmed.")
	return nil
}
