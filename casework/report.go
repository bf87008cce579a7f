package casework

import (
	"context"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/reporting"
)

// actorName is who a report says made it.
func actorName(ctx context.Context) string {
	if a := vigil.ActorFromContext(ctx); a != nil {
		if a.Name != "" {
			return a.Name
		}
		return a.Username
	}
	return "unknown"
}

// IncidentReport gathers an incident's report as the actor may see it.
func IncidentReport(ctx context.Context, svc vigil.Services, id int64, now time.Time, loc *time.Location) (*reporting.Doc, error) {
	in := reporting.IncidentInput{By: actorName(ctx), At: now, Location: loc, Names: map[int64]string{}}
	var err error
	if in.Incident, err = svc.Incidents.FindIncidentByID(ctx, id); err != nil {
		return nil, err
	}
	if p, err := Profile(ctx, svc.Duties, in.Incident); err == nil {
		in.Org = p.Name
	}
	if in.Members, err = svc.Members.FindMembers(ctx, id); err != nil {
		return nil, err
	}
	for _, m := range in.Members {
		name := m.Name
		if name == "" {
			name = m.Username
		}
		in.Names[m.UserID] = name
		if m.Role == vigil.RoleLead {
			in.Lead = name
		}
	}
	if users, _, err := svc.Users.FindUsers(ctx, vigil.UserFilter{Limit: vigil.MaxPageSize}); err == nil {
		for _, u := range users {
			if u.Name != "" {
				in.Names[u.ID] = u.Name
			} else {
				in.Names[u.ID] = u.Username
			}
		}
	}
	if in.Incident.LeadID != nil && in.Lead == "" {
		in.Lead = in.Names[*in.Incident.LeadID]
	}
	for cursor := ""; ; {
		page, err := svc.Timeline.FindTimeline(ctx, id, vigil.TimelineFilter{Asc: true, Cursor: cursor, Limit: vigil.MaxPageSize})
		if err != nil {
			return nil, err
		}
		in.Timeline = append(in.Timeline, page.Items...)
		if cursor = page.NextCursor; cursor == "" || len(in.Timeline) >= 5000 {
			break
		}
	}
	if in.Tasks, _, err = svc.Tasks.FindTasks(ctx, vigil.TaskFilter{IncidentID: &id, Limit: vigil.MaxPageSize}); err != nil {
		return nil, err
	}
	if in.Observables, err = svc.Observables.FindObservables(ctx, id); err != nil {
		return nil, err
	}
	if in.Duties, err = svc.Duties.FindObligations(ctx, id); err != nil {
		return nil, err
	}
	if in.Evidence, err = svc.Evidence.FindEvidence(ctx, id); err != nil {
		return nil, err
	}
	if rv, err := svc.Reviews.FindReview(ctx, id); err == nil {
		in.Review = rv
	} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return nil, err
	}
	return reporting.Incident(in), nil
}

// ManagementReport gathers the management report of a period.
func ManagementReport(ctx context.Context, svc vigil.Services, f vigil.MetricsFilter, period string, now time.Time, loc *time.Location) (*reporting.Doc, error) {
	m, facts, err := svc.Metrics.IncidentMetrics(ctx, f)
	if err != nil {
		return nil, err
	}
	in := reporting.ManagementInput{By: actorName(ctx), At: now, Location: loc, Period: period, Metrics: m, Facts: facts}
	if p, err := svc.Duties.FindProfile(ctx); err == nil {
		in.Org = p.Name
	}
	if p, err := AssessPreparedness(ctx, svc, now); err == nil {
		in.Readiness = p.Items
	}
	return reporting.Management(in), nil
}
