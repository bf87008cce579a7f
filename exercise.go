package vigil

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Exercise tests a response plan: a tabletop discussion or a simulation,
// with a scenario, injects released at set times, participants, and an
// exercise incident (flagged exercise) that works like a real one but
// reports to no regulator, notifies no one outside and counts in no real
// metric. It ends with findings, which become review action items.
type Exercise struct {
	ID             int64          `json:"id"`
	Title          string         `json:"title"`
	Kind           ExerciseKind   `json:"kind"`
	PlanID         int64          `json:"plan_id"`
	PlanTitle      string         `json:"plan_title"`
	Scenario       string         `json:"scenario"`
	ScheduledAt    time.Time      `json:"scheduled_at"`
	Status         ExerciseStatus `json:"status"`
	StartedAt      *time.Time     `json:"started_at"`
	EndedAt        *time.Time     `json:"ended_at"`
	IncidentID     *int64         `json:"incident_id"` // the exercise incident, from the start
	ParticipantIDs []int64        `json:"participant_ids"`
	Injects        []*Inject      `json:"injects"`
	CreatedBy      *int64         `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
	Version        int            `json:"version"`
}

// ExerciseKind is how an exercise is run.
type ExerciseKind string

// The exercise kinds.
const (
	ExerciseTabletop   ExerciseKind = "tabletop"   // people talk through the plan around a table
	ExerciseSimulation ExerciseKind = "simulation" // people act as they would, on test systems
)

// ExerciseKinds lists the kinds.
var ExerciseKinds = []ExerciseKind{ExerciseTabletop, ExerciseSimulation}

// ExerciseStatus is where an exercise is.
type ExerciseStatus string

// The exercise statuses.
const (
	ExerciseScheduled ExerciseStatus = "scheduled"
	ExerciseRunning   ExerciseStatus = "running"
	ExerciseEnded     ExerciseStatus = "ended"
)

// ExerciseStatuses lists the statuses.
var ExerciseStatuses = []ExerciseStatus{ExerciseScheduled, ExerciseRunning, ExerciseEnded}

// Inject is a piece of the scenario released to the participants at a set
// time after the start: "the attacker now posts your data on a leak site".
type Inject struct {
	ID         int64      `json:"id"`
	After      Duration   `json:"after"` // after the start
	Title      string     `json:"title"`
	Detail     string     `json:"detail"`
	ReleasedAt *time.Time `json:"released_at"`
}

// ExerciseInput schedules an exercise.
type ExerciseInput struct {
	Title          string        `json:"title"`
	Kind           ExerciseKind  `json:"kind"`
	PlanID         int64         `json:"plan_id"`
	Scenario       string        `json:"scenario"`
	ScheduledAt    time.Time     `json:"scheduled_at"`
	ParticipantIDs []int64       `json:"participant_ids"`
	Injects        []InjectInput `json:"injects"`
}

// InjectInput is an inject to schedule.
type InjectInput struct {
	After  Duration `json:"after"`
	Title  string   `json:"title"`
	Detail string   `json:"detail"`
}

// Limits on an exercise.
const (
	MaxInjects     = 100
	MaxInjectAfter = 7 * 24 * time.Hour
)

// Validate trims and checks an exercise to schedule.
func (in *ExerciseInput) Validate() error {
	var p Problems
	in.Title, in.Scenario = strings.TrimSpace(in.Title), strings.TrimSpace(in.Scenario)
	if in.Title == "" || utf8.RuneCountInString(in.Title) > 200 {
		p.Add("title", "Give the exercise a title of at most 200 characters.")
	}
	if in.Kind == "" {
		in.Kind = ExerciseTabletop
	}
	if !inEnum(in.Kind, ExerciseKinds) {
		p.Add("kind", "Choose tabletop or simulation.")
	}
	if in.PlanID == 0 {
		p.Add("plan_id", "Choose the response plan the exercise tests.")
	}
	if in.Scenario == "" || utf8.RuneCountInString(in.Scenario) > MaxReviewText {
		p.Add("scenario", "Describe the scenario, in at most %d characters.", MaxReviewText)
	}
	if in.ScheduledAt.IsZero() {
		p.Add("scheduled_at", "Say when the exercise takes place.")
	}
	if len(in.Injects) > MaxInjects {
		p.Add("injects", "At most %d injects.", MaxInjects)
	}
	for i := range in.Injects {
		j := &in.Injects[i]
		j.Title, j.Detail = strings.TrimSpace(j.Title), strings.TrimSpace(j.Detail)
		if j.Title == "" || utf8.RuneCountInString(j.Title) > 300 {
			p.Add(fmt.Sprintf("injects[%d].title", i), "Give the inject a title of at most 300 characters.")
		}
		if utf8.RuneCountInString(j.Detail) > MaxTaskDescLen {
			p.Add(fmt.Sprintf("injects[%d].detail", i), "At most %d characters.", MaxTaskDescLen)
		}
		if time.Duration(j.After) < 0 || time.Duration(j.After) > MaxInjectAfter {
			p.Add(fmt.Sprintf("injects[%d].after", i), "Release injects between the start and a week after it.")
		}
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, id := range in.ParticipantIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	in.ParticipantIDs = ids
	return p.Err()
}

// ExerciseEnd ends an exercise with its findings, each of which becomes an
// action item of the exercise incident's review.
type ExerciseEnd struct {
	Findings []string `json:"findings"`
	Version  int      `json:"version"`
}

// ExerciseService schedules and runs exercises. Managers and admins
// schedule, start and end them; whoever may read plans reads them.
type ExerciseService interface {
	CreateExercise(ctx context.Context, in ExerciseInput) (*Exercise, error)
	FindExercises(ctx context.Context) ([]*Exercise, error)
	FindExerciseByID(ctx context.Context, id int64) (*Exercise, error)
	// StartExercise opens the exercise incident (exercise = true), applies
	// the plan to it and makes the participants its observers.
	StartExercise(ctx context.Context, id int64, version int) (*Exercise, error)
	// ReleaseInject releases one inject now, onto the incident's timeline.
	ReleaseInject(ctx context.Context, exerciseID, injectID int64) (*Exercise, error)
	// ReleaseDueInjects releases every inject whose time has come, on
	// every running exercise (the worker calls it), and says how many.
	ReleaseDueInjects(ctx context.Context) (int, error)
	EndExercise(ctx context.Context, id int64, end ExerciseEnd) (*Exercise, error)
	// LastExercised returns, by plan, when an exercise of it last ended.
	LastExercised(ctx context.Context) (map[int64]time.Time, error)
}
