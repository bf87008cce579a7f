package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

const testPlanV1 = `---
key: test-phishing
title: Test phishing plan
types: phishing
---
For the tests.

## Contain
### Block the sender {#block}
Owner: technical
At the gateway.
### Reset passwords {#reset}
Owner: lead

## Learn
### Hold the review {#review}
Owner: scribe
`

// testPlanV2 changes "block", drops "reset" and adds "purge".
const testPlanV2 = `---
key: test-phishing
title: Test phishing plan
types: phishing
---
For the tests.

## Contain
### Block the sender and the links {#block}
Owner: technical
At the gateway and the proxy.
### Purge the mailboxes {#purge}
Owner: technical

## Learn
### Hold the review {#review}
Owner: scribe
`

func testPlan(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	admin, _ := MustCreateUser(t, s, vigil.RoleAdmin)
	mgr, _ := MustCreateUser(t, s, vigil.RoleManager)
	resp, respUser := MustCreateUser(t, s, vigil.RoleResponder)
	viewer, _ := MustCreateUser(t, s, vigil.RoleViewer)
	reporter, _ := MustCreateUser(t, s, vigil.RoleReporter)
	tech, techUser := MustCreateUser(t, s, vigil.RoleResponder)
	_ = tech

	// The starter set: nine plans, once.
	_, err := s.Plans.InstallStarterPlans(resp)
	wantCode(t, err, vigil.EFORBIDDEN)
	n, err := s.Plans.InstallStarterPlans(admin)
	if err != nil || n != 9 {
		t.Fatalf("install: %d %v", n, err)
	}
	if n, err := s.Plans.InstallStarterPlans(admin); err != nil || n != 0 {
		t.Fatalf("install again: %d %v", n, err)
	}
	plans, err := s.Plans.FindPlans(viewer)
	if err != nil || len(plans) != 9 || !plans[0].BuiltIn || plans[0].Approved() || plans[0].ApprovedVersion != 0 {
		t.Fatalf("plans: %v %+v", err, plans)
	}
	_, err = s.Plans.FindPlans(reporter)
	wantCode(t, err, vigil.EFORBIDDEN)

	// Writing plans: managers and admins; the source is checked line by line.
	_, err = s.Plans.CreatePlan(resp, vigil.PlanInput{Source: testPlanV1})
	wantCode(t, err, vigil.EFORBIDDEN)
	_, err = s.Plans.CreatePlan(mgr, vigil.PlanInput{Source: strings.Replace(testPlanV1, "Owner: lead", "Owner: boss", 1)})
	wantField(t, err, "source")
	if !strings.Contains(vigil.ErrorFields(err)[0].Message, "Line 13, owner") {
		t.Errorf("bad owner: %v", vigil.ErrorFields(err))
	}
	p, err := s.Plans.CreatePlan(mgr, vigil.PlanInput{Source: testPlanV1, Note: "First draft"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.Key != "test-phishing" || len(p.Definition.Steps()) != 3 || !p.ReviewDue.Equal(clk.now().Add(vigil.PlanReviewInterval)) {
		t.Errorf("created: %+v", p)
	}
	_, err = s.Plans.CreatePlan(mgr, vigil.PlanInput{Source: testPlanV1})
	wantField(t, err, "source")

	// Apply it: the preview changes nothing; steps go to the role holders.
	inc := MustCreateIncident(t, resp, s, &vigil.Incident{Title: "Phishing wave", Type: vigil.TypePhishing})
	if _, err := s.Members.AddMember(mgr, inc.ID, techUser.ID, vigil.RoleTechnical); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Members.AddMember(mgr, inc.ID, respUser.ID, vigil.RoleLead); err != nil {
		t.Fatal(err)
	}
	_, err = s.Plans.ApplyPlan(viewer, inc.ID, p.ID, false)
	wantCode(t, err, vigil.EFORBIDDEN)
	a, err := s.Plans.ApplyPlan(resp, inc.ID, p.ID, true)
	if err != nil || a.Applied || len(a.Added) != 3 || a.Previous != 0 {
		t.Fatalf("preview: %v %+v", err, a)
	}
	taskList := func() []*vigil.Task {
		t.Helper()
		tasks, _, err := s.Tasks.FindTasks(resp, vigil.TaskFilter{IncidentID: &inc.ID})
		if err != nil {
			t.Fatal(err)
		}
		return tasks
	}
	if len(taskList()) != 0 {
		t.Fatal("the preview made tasks")
	}
	a, err = s.Plans.ApplyPlan(resp, inc.ID, p.ID, false)
	if err != nil || !a.Applied || len(a.TaskIDs) != 3 {
		t.Fatalf("apply: %v %+v", err, a)
	}
	tasks := taskList()
	if len(tasks) != 3 || tasks[0].StepKey != "block" || tasks[0].PlanID == nil || *tasks[0].PlanID != p.ID || tasks[0].Phase != vigil.PhaseContain ||
		tasks[0].Description != "At the gateway." {
		t.Fatalf("tasks: %+v", tasks[0])
	}
	if tasks[0].AssigneeID == nil || *tasks[0].AssigneeID != techUser.ID || tasks[1].AssigneeID == nil || *tasks[1].AssigneeID != respUser.ID ||
		tasks[2].AssigneeID != nil {
		t.Errorf("assignees: %v %v %v", tasks[0].AssigneeID, tasks[1].AssigneeID, tasks[2].AssigneeID)
	}
	// A task people reword keeps their words when the plan is applied again.
	edited := "Block the sender at the gateway (done for Exchange, not for Gmail)"
	if tasks[0], err = s.Tasks.UpdateTask(resp, tasks[0].ID, vigil.TaskUpdate{Title: &edited, Version: tasks[0].Version}); err != nil {
		t.Fatal(err)
	}
	// Idempotent: the same version again adds nothing and says nothing.
	timelineLen := func() int {
		page, err := s.Timeline.FindTimeline(resp, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindTask}})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	before := timelineLen()
	a, err = s.Plans.ApplyPlan(resp, inc.ID, p.ID, false)
	if err != nil || len(a.Added) != 0 || len(a.Changed) != 0 || a.Unchanged != 3 || len(taskList()) != 3 || timelineLen() != before {
		t.Fatalf("apply again: %v %+v, %d tasks", err, a, len(taskList()))
	}

	// Approve, then change: the approval stays with version 1.
	_, err = s.Plans.ApprovePlan(mgr, p.ID, 2)
	wantCode(t, err, vigil.ECONFLICT)
	clk.add(24 * time.Hour)
	if p, err = s.Plans.ApprovePlan(mgr, p.ID, 1); err != nil || !p.Approved() || p.ApprovedAt == nil || !p.ReviewDue.Equal(clk.now().Add(vigil.PlanReviewInterval)) {
		t.Fatalf("approve: %v %+v", err, p)
	}
	_, err = s.Plans.UpdatePlan(mgr, p.ID, vigil.PlanInput{Source: testPlanV2, Version: 7})
	wantCode(t, err, vigil.ECONFLICT)
	_, err = s.Plans.UpdatePlan(mgr, p.ID, vigil.PlanInput{Source: strings.Replace(testPlanV2, "key: test-phishing", "key: other", 1), Version: 1})
	wantField(t, err, "source")
	if p, err = s.Plans.UpdatePlan(mgr, p.ID, vigil.PlanInput{Source: testPlanV2, Version: 1, Note: "Links too; purge instead of reset"}); err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || p.Approved() || p.ApprovedVersion != 1 {
		t.Errorf("after update: %+v", p)
	}
	versions, err := s.Plans.FindPlanVersions(viewer, p.ID)
	if err != nil || len(versions) != 2 || versions[0].Version != 2 || versions[0].Note != "Links too; purge instead of reset" || versions[1].Source != testPlanV1 {
		t.Fatalf("versions: %v %+v", err, versions)
	}

	// Re-applying the newer version shows the difference, then brings the
	// open tasks up to date; a done task is shown but not changed.
	a, err = s.Plans.ApplyPlan(resp, inc.ID, p.ID, true)
	if err != nil || a.Previous != 1 || len(a.Added) != 1 || a.Added[0].Key != "purge" || len(a.Changed) != 1 || a.Changed[0].Task.StepKey != "block" ||
		!a.Changed[0].Updated || len(a.Removed) != 1 || a.Removed[0].StepKey != "reset" || a.Unchanged != 1 {
		t.Fatalf("preview of v2: %v %+v", err, a)
	}
	done := vigil.TaskDone
	if _, err := s.Tasks.UpdateTask(resp, tasks[0].ID, vigil.TaskUpdate{Status: &done, Version: tasks[0].Version}); err != nil {
		t.Fatal(err)
	}
	a, err = s.Plans.ApplyPlan(resp, inc.ID, p.ID, false)
	if err != nil || len(a.Added) != 1 || a.Changed[0].Updated {
		t.Fatalf("apply v2: %v %+v", err, a)
	}
	tasks = taskList()
	if len(tasks) != 4 || tasks[0].Title != edited || tasks[3].StepKey != "purge" || tasks[1].StepKey != "reset" {
		t.Errorf("tasks after v2: %d, %q %q %q", len(tasks), tasks[0].Title, tasks[1].StepKey, tasks[3].StepKey)
	}
	page, err := s.Timeline.FindTimeline(resp, inc.ID, vigil.TimelineFilter{Kinds: []vigil.TimelineKind{vigil.KindTask}, Limit: 1})
	if err != nil || !strings.Contains(page.Items[0].Message, "updated from version 1 to 2: 1 tasks added, 0 brought up to date, 1 no longer in the plan") {
		t.Errorf("timeline: %v %+v", err, page.Items)
	}

	applied, err := s.Plans.FindAppliedPlans(viewer, inc.ID)
	if err != nil || len(applied) != 1 || applied[0].Version != 2 || applied[0].Current != 2 || applied[0].Outdated() {
		t.Errorf("applied: %v %+v", err, applied)
	}

	// Owner and review date.
	_, err = s.Plans.SetPlanMeta(resp, p.ID, vigil.PlanMeta{OwnerID: &respUser.ID})
	wantCode(t, err, vigil.EFORBIDDEN)
	past := clk.now().AddDate(0, -2, 0)
	_, err = s.Plans.SetPlanMeta(mgr, p.ID, vigil.PlanMeta{ReviewDue: &past})
	wantField(t, err, "review_due")
	due := clk.now().AddDate(0, 6, 0)
	if p, err = s.Plans.SetPlanMeta(mgr, p.ID, vigil.PlanMeta{OwnerID: &respUser.ID, ReviewDue: &due}); err != nil || p.OwnerName == "" || !p.ReviewDue.Equal(due) {
		t.Fatalf("meta: %v %+v", err, p)
	}
	if got, err := s.Plans.FindPlanByID(viewer, p.ID); err != nil || got.OwnerID == nil || *got.OwnerID != respUser.ID || got.OwnerName != p.OwnerName {
		t.Errorf("reloaded: %v %+v", err, got)
	}
}

// testPlanReminder: a plan whose review falls due within 30 days is
// reminded once to the subscriptions asking for it, again once overdue,
// and no more once it is approved (its review a year on).
func testPlanReminder(t *testing.T, open Opener) {
	s := open(t)
	clk := newClock(s, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	admin, adminUser := MustCreateUser(t, s, vigil.RoleAdmin)
	if _, err := s.Plans.InstallStarterPlans(admin); err != nil {
		t.Fatal(err)
	}
	hook := &vigil.Channel{Name: "Plans", Kind: vigil.ChannelWebhook, URL: "https://soc.example.org/hooks/plans", Enabled: true}
	if err := s.Notify.CreateChannel(admin, hook); err != nil {
		t.Fatal(err)
	}
	if err := s.Notify.CreateSubscription(admin, &vigil.Subscription{ChannelID: hook.ID, Events: []vigil.EventKind{vigil.EventPlanReviewDue}, Mine: true}); err != nil {
		t.Fatal(err)
	}
	plans, _ := s.Plans.FindPlans(admin)
	p := plans[0]
	due := clk.now().Add(10 * 24 * time.Hour)
	if _, err := s.Plans.SetPlanMeta(admin, p.ID, vigil.PlanMeta{OwnerID: &adminUser.ID, ReviewDue: &due}); err != nil {
		t.Fatal(err)
	}
	schedule := func() int {
		t.Helper()
		n, err := s.Worker.Schedule(workerCtx(), clk.now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		expandAll(t, s, "w1")
		return n
	}
	before := lastDeliveryID(t, s)
	if n := schedule(); n != 1 {
		t.Fatalf("queued %d, want the one plan due in 10 days", n)
	}
	got := deliveriesSince(t, s, before)
	if len(got) != 1 || got[0].Event != vigil.EventPlanReviewDue || got[0].Message.Subject != "Response plan due for review: "+p.Title ||
		got[0].Message.Path != fmt.Sprintf("/plans/%d", p.ID) {
		t.Fatalf("deliveries: %+v", got)
	}
	if n := schedule(); n != 0 {
		t.Errorf("reminded twice: %d", n)
	}
	clk.add(11 * 24 * time.Hour)
	before = lastDeliveryID(t, s)
	schedule()
	if got := deliveriesSince(t, s, before); len(got) != 1 || !strings.HasPrefix(got[0].Message.Subject, "OVERDUE: review of the response plan") {
		t.Fatalf("overdue: %+v", got)
	}
	if _, err := s.Plans.ApprovePlan(admin, p.ID, p.Version); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	if n := schedule(); n != 0 {
		t.Errorf("an approved plan is reminded: %d", n)
	}
}
