package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/vigil-ir/vigil"
)

// axeCheck runs axe-core's WCAG 2.1 A and AA rules on the tab's page and
// fails the test for each violation.
func axeCheck(t *testing.T, b *tab, axe, name string) {
	t.Helper()
	var out string
	ctx, cancel := context.WithTimeout(b.ctx, 60e9)
	defer cancel()
	js := axe + `;axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(function (r) { return JSON.stringify(r.violations) })`
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		t.Fatalf("%s: run axe: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: %v: %s", name, err, out)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target))
		}
		t.Errorf("%s: %s [%s]: %s", name, v.Help, v.ID, strings.Join(where, "; "))
	}
}

// sideways reports whether the tab's page scrolls sideways.
func sideways(b *tab, what string) bool {
	var wide bool
	b.run(what, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth + 1`, &wide))
	return wide
}

// TestCaseworkBrowser: the evidence table stays inside its card at a
// desktop's width and a phone's; the close form with open work passes axe.
func TestCaseworkBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	axe := axeSource(t)
	open := newBrowser(t)
	e := newEnv(t)
	ada := e.user("ada", vigil.RoleAdmin)
	inc := e.incident(as(ada), &vigil.Incident{Title: "Ransomware on the file server", Status: vigil.StatusConfirmed, PersonalData: true})
	for _, name := range []string{"memory-image-of-fileserver-01-taken-before-shutdown-2026-12-07.raw", "ransom-note.txt"} {
		ev := &vigil.Evidence{IncidentID: inc.ID, Name: name, CollectedBy: "Ada Lovelace, incident lead", CollectedFrom: "fs01.corp.example.org (\\\\fs01\\finance-share-archive-2019)",
			Method: "WinPmem, written to a write-blocked USB drive"}
		if err := e.svc.Evidence.AddEvidence(as(ada), ev, strings.NewReader("evidence "+name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Tasks.CreateTask(as(ada), &vigil.Task{IncidentID: inc.ID, Title: "Restore the finance share from the offline backup"}); err != nil {
		t.Fatal(err)
	}
	cur, _ := e.svc.Incidents.FindIncidentByID(as(ada), inc.ID)
	if _, err := e.svc.Incidents.TransitionIncident(as(ada), inc.ID, vigil.Transition{To: vigil.StatusRecovered, Version: cur.Version}); err != nil {
		t.Fatal(err)
	}
	b := open()
	base := e.ts.URL
	b.login(base, "ada")
	incURL := fmt.Sprintf("%s/incidents/%d", base, inc.ID)
	for _, size := range [][2]int64{{1400, 900}, {390, 844}} {
		b.run("open the incident", chromedp.EmulateViewport(size[0], size[1]), chromedp.Navigate(incURL), chromedp.WaitVisible(`#evidence`, chromedp.ByQuery))
		if sideways(b, "measure") {
			b.shot(fmt.Sprintf("evidence-overflow-%d", size[0]))
			t.Errorf("the incident page with evidence scrolls sideways at %d px", size[0])
		}
		var over bool
		b.run("evidence inside its card", chromedp.Evaluate(`(function () {
			var card = document.querySelector('#evidence').getBoundingClientRect();
			var box = document.querySelector('#evidence .table-wrap') || document.querySelector('#evidence table');
			return box.getBoundingClientRect().right > card.right + 1;
		})()`, &over))
		if over {
			b.shot(fmt.Sprintf("evidence-card-%d", size[0]))
			t.Errorf("the evidence table overflows its card at %d px", size[0])
		}
	}
	// The close form, open, with its open work.
	b.run("open the close form", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(incURL),
		chromedp.Click(`#status-closed > summary`, chromedp.ByQuery), chromedp.WaitVisible(`#open-work`, chromedp.ByQuery))
	axeCheck(t, b, axe, "close form")
	b.shot("incident-close-form")
}
