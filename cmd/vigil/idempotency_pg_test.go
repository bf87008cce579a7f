package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

// TestIdempotencyKeyTwoInstances is issue 23's promise across instances:
// two servers behind a load balancer share one PostgreSQL; a create sent
// to one and retried on the other (the first answer was lost) is done
// once and answered the same, and requests racing with one key on both
// create one incident.
func TestIdempotencyKeyTwoInstances(t *testing.T) {
	ctx := t.Context()
	dbURL := testPostgresURL(t)
	var servers []*httptest.Server
	var svc vigil.Services
	for range 2 {
		s, err := (&Config{Database: dbURL, Data: t.TempDir()}).openStore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		svc = s.Services()
		ts := httptest.NewServer(vigilhttp.NewServer(svc, nil))
		t.Cleanup(ts.Close)
		servers = append(servers, ts)
	}
	sys := vigil.NewContextWithActor(ctx, vigil.SystemActor("test"))
	u := &vigil.User{Username: "rhea", Name: "Rhea", Role: vigil.RoleResponder}
	if err := svc.Users.CreateUser(sys, u, "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	token, err := svc.Auth.CreateToken(sys, u.ID, &vigil.Token{Name: "script", Scopes: []vigil.Scope{vigil.ScopeRead, vigil.ScopeWrite}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(ts *httptest.Server, key string) (int, http.Header, []byte) {
		req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/v1/incidents", strings.NewReader(`{"title":"Ransom note on the file server"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(vigilhttp.IdempotencyKeyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	count := func() int {
		n, err := svc.Incidents.CountIncidents(sys, vigil.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	status, _, first := post(servers[0], "lost-answer")
	if status != http.StatusCreated {
		t.Fatalf("first: %d %s", status, first)
	}
	status, hdr, again := post(servers[1], "lost-answer")
	if status != http.StatusCreated || !bytes.Equal(again, first) || hdr.Get(vigilhttp.ReplayedHeader) != "true" {
		t.Errorf("the retry on the other instance: %d %v %s, want the first answer replayed", status, hdr, again)
	}
	if n := count(); n != 1 {
		t.Errorf("%d incidents, want 1", n)
	}

	const racers = 8
	statuses := make(chan int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			s, _, _ := post(servers[i%2], "race")
			statuses <- s
		})
	}
	wg.Wait()
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	if got[http.StatusCreated] < 1 || got[http.StatusCreated]+got[http.StatusConflict] != racers {
		t.Errorf("statuses of %d racing requests on two instances: %v", racers, got)
	}
	if n := count(); n != 2 {
		t.Errorf("%d incidents after the race, want 2", n)
	}
}
