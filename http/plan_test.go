package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func TestPlanAPI(t *testing.T) {
	e := newEnv(t)
	mgr, _ := e.user(vigil.RoleManager)
	resp, _ := e.user(vigil.RoleResponder)
	src := "---\nkey: api-plan\ntitle: API plan\ntypes: malware\nseverities: high, critical\n---\n## Contain\n### Isolate {#isolate}\nOwner: technical\n- [ ] EDR isolation\n"

	pr := e.do(req{Method: "POST", Path: "/api/v1/plans", Token: mgr, Body: map[string]any{"source": strings.Replace(src, "## Contain", "## Panic", 1)}}).want(t, 400).Problem(t)
	if len(pr.Errors) == 0 || pr.Errors[0].Field != "source" || !strings.HasPrefix(pr.Errors[0].Message, "Line 7, phase:") {
		t.Errorf("bad plan: %+v", pr)
	}
	var p vigil.Plan
	e.do(req{Method: "POST", Path: "/api/v1/plans", Token: mgr, Body: map[string]any{"source": src, "note": "first"}}).want(t, 201).JSON(t, &p)

	var inc vigil.Incident
	e.do(req{Method: "POST", Path: "/api/v1/incidents", Token: resp, Body: map[string]any{"title": "Emotet", "type": "malware", "severity": "high"}}).
		want(t, 201).JSON(t, &inc)
	var ip vigilhttp.IncidentPlans
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/plans", inc.ID), Token: resp}).want(t, 200).JSON(t, &ip)
	if len(ip.Applied) != 0 || len(ip.Suggested) != 1 || ip.Suggested[0].ID != p.ID {
		t.Fatalf("incident plans: %+v", ip)
	}
	var a vigil.PlanApplication
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/plans", inc.ID), Token: resp, Body: map[string]any{"plan_id": p.ID, "preview": true}}).
		want(t, 200).JSON(t, &a)
	if a.Applied || len(a.Added) != 1 || a.Added[0].Checklist[0] != "EDR isolation" {
		t.Errorf("preview: %+v", a)
	}
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/plans", inc.ID), Token: resp, Body: map[string]any{"plan_id": p.ID}}).
		want(t, 200).JSON(t, &a)
	var tasks vigilhttp.TaskList
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/tasks", inc.ID), Token: resp}).want(t, 200).JSON(t, &tasks)
	if len(tasks.Items) != 1 || tasks.Items[0].StepKey != "isolate" || tasks.Items[0].Description != "- [ ] EDR isolation" {
		t.Errorf("tasks: %+v", tasks.Items)
	}
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/incidents/%d/plans", inc.ID), Token: resp}).want(t, 200).JSON(t, &ip)
	if len(ip.Applied) != 1 || ip.Applied[0].Version != 1 {
		t.Errorf("applied: %+v", ip.Applied)
	}
	e.do(req{Method: "POST", Path: fmt.Sprintf("/api/v1/plans/%d/approve", p.ID), Token: mgr, Body: map[string]any{"version": 1}}).want(t, 200).JSON(t, &p)
	if p.ApprovedVersion != 1 {
		t.Errorf("approved: %+v", p)
	}
	var vl vigilhttp.PlanVersionList
	e.do(req{Method: "GET", Path: fmt.Sprintf("/api/v1/plans/%d/versions", p.ID), Token: resp}).want(t, 200).JSON(t, &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Note != "first" {
		t.Errorf("versions: %+v", vl)
	}
}
