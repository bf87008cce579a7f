package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/intake"
	"golang.org/x/sync/semaphore"
)

// Intake limits. A request holds its body in memory from reading to
// commit; the byte budget bounds what all requests in flight hold together,
// so an alert storm costs queueing time, not memory.
const (
	// MaxIntakeBytes bounds one intake request's body.
	MaxIntakeBytes = 4 << 20
	// intakeBudget bounds the bodies of all intake requests in flight.
	intakeBudget = 32 << 20
	// intakeSlots bounds intake requests in flight; one integration may
	// take at most three quarters of them, so that a storm from one tool
	// never shuts the others out.
	intakeSlots = 256
	// intakeWait is how long a request may queue for a slot before it is
	// told to come back (503 with Retry-After).
	intakeWait = 2 * time.Second
	// integrationCacheTTL is how long a token's integration is trusted
	// without asking the store; changes made through this instance clear
	// it at once, other instances see them within the TTL.
	integrationCacheTTL = 5 * time.Second
)

// intakeGate admits intake requests: a byte budget, a slot count, and a
// per-integration share of the slots.
type intakeGate struct {
	bytes  *semaphore.Weighted
	slots  *semaphore.Weighted
	nslots int
	wait   time.Duration
	// bytesTotal is the byte budget; a request never asks for more.
	bytesTotal int64
	mu         sync.Mutex
	per        map[int64]int
}

// IntakeLimits bound the intake requests in flight.
type IntakeLimits struct {
	Slots int           // requests in flight (default 256)
	Bytes int64         // bytes of bodies held at once (default 32 MiB)
	Wait  time.Duration // how long a request may queue for a slot (default 2s)
}

func newIntakeGate(l IntakeLimits) *intakeGate {
	if l.Slots <= 0 {
		l.Slots = intakeSlots
	}
	if l.Bytes <= 0 {
		l.Bytes = intakeBudget
	}
	if l.Wait <= 0 {
		l.Wait = intakeWait
	}
	return &intakeGate{bytes: semaphore.NewWeighted(l.Bytes), slots: semaphore.NewWeighted(int64(l.Slots)), nslots: l.Slots,
		wait: l.Wait, bytesTotal: l.Bytes, per: map[int64]int{}}
}

func (g *intakeGate) budget() int64 { return g.bytesTotal }

var errOverloaded = errors.New("intake overloaded")
var errIntegrationBusy = errors.New("integration over its share")

// enter admits a request of size bytes for integration id, or says why not.
func (g *intakeGate) enter(ctx context.Context, id int64, size int64) (leave func(), err error) {
	g.mu.Lock()
	if g.per[id] >= max(1, g.nslots*3/4) {
		g.mu.Unlock()
		return nil, errIntegrationBusy
	}
	g.per[id]++
	g.mu.Unlock()
	release := func() {
		g.mu.Lock()
		if g.per[id]--; g.per[id] == 0 {
			delete(g.per, id)
		}
		g.mu.Unlock()
	}
	leave = func() { g.bytes.Release(size); g.slots.Release(1); release() }
	// Nearly always there is room: take it without a timer.
	if g.slots.TryAcquire(1) {
		if g.bytes.TryAcquire(size) {
			return leave, nil
		}
		g.slots.Release(1)
	}
	ctx, cancel := context.WithTimeout(ctx, g.wait)
	defer cancel()
	if err := g.slots.Acquire(ctx, 1); err != nil {
		release()
		return nil, errOverloaded
	}
	if err := g.bytes.Acquire(ctx, size); err != nil {
		g.slots.Release(1)
		release()
		return nil, errOverloaded
	}
	return leave, nil
}

// integrationCache maps token hashes to integrations for a short while.
type integrationCache struct {
	mu sync.RWMutex
	m  map[string]cachedIntegration
}

type cachedIntegration struct {
	in      *vigil.Integration
	expires time.Time
}

func (c *integrationCache) get(hash string, now time.Time) *vigil.Integration {
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.in
	}
	return nil
}

func (c *integrationCache) put(hash string, in *vigil.Integration, now time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedIntegration{}
	}
	c.m[hash] = cachedIntegration{in: in, expires: now.Add(integrationCacheTTL)}
	c.mu.Unlock()
}

func (c *integrationCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// integrationFor authenticates an intake request's token: from the
// Authorization header, or from the URL for tools that cannot set headers.
func (s *Server) integrationFor(r *http.Request) (*vigil.Integration, error) {
	token := r.PathValue("token")
	if token == "" {
		scheme, t, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(t) == "" {
			return nil, vigil.Errorf(vigil.EUNAUTHORIZED, "Send the integration token as Authorization: Bearer <token>, or post to the integration's URL that holds it.")
		}
		token = strings.TrimSpace(t)
	}
	hash := vigil.HashIntegrationToken(token)
	now := s.Now()
	if in := s.integrations.get(hash, now); in != nil {
		return in, nil
	}
	in, err := s.Services.Integrations.AuthenticateIntegration(r.Context(), token)
	if err != nil {
		return in, err
	}
	s.integrations.put(hash, in, now)
	return in, nil
}

// handleIntake takes a tool's alerts: POST /api/v1/intake/{kind}, with the
// token in the header or as a last path segment. A 2xx answer is sent only
// after the alerts are committed.
func (s *Server) handleIntake(w http.ResponseWriter, r *http.Request) error {
	kind := vigil.IntegrationKind(r.PathValue("kind"))
	if kind == "" {
		kind = vigil.IntegrationTheHive
	}
	res, in, err := s.intake(w, r, kind)
	if err != nil {
		return s.intakeError(w, in, err)
	}
	if kind == vigil.IntegrationTheHive && r.PathValue("kind") == "" {
		s.json(w, http.StatusCreated, theHiveResponse(in, res, s.Now()))
		return nil
	}
	s.json(w, http.StatusOK, res)
	return nil
}

func (s *Server) intake(w http.ResponseWriter, r *http.Request, kind vigil.IntegrationKind) (*vigil.IngestResult, *vigil.Integration, error) {
	if !kind.Valid() {
		return nil, nil, vigil.Errorf(vigil.ENOTFOUND, "Unknown intake kind %q; one of %s.", kind, strings.Join(strs(vigil.IntegrationKinds), ", "))
	}
	in, err := s.integrationFor(r)
	if err != nil {
		return nil, in, err
	}
	if in.Kind != kind {
		return nil, in, vigil.Errorf(vigil.EFORBIDDEN, "This token belongs to the %s integration %q; post to /api/v1/intake/%s.", in.Kind, in.Name, in.Kind)
	}
	if r.ContentLength > MaxIntakeBytes {
		return nil, in, errTooLarge
	}
	size := r.ContentLength
	if size <= 0 {
		size = MaxIntakeBytes // unknown (chunked): reserve the most it may be
	}
	s.gateOnce.Do(func() { s.intakeGate = newIntakeGate(s.IntakeLimits) })
	leave, err := s.intakeGate.enter(r.Context(), in.ID, min(size, s.intakeGate.budget()))
	if err != nil {
		return nil, in, err
	}
	defer leave()
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxIntakeBytes), r.ContentLength)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, in, errTooLarge
	} else if err != nil {
		return nil, in, vigil.Invalid("body", "The request body could not be read.")
	}
	alerts, err := intake.Parse(in, body)
	if err != nil {
		return nil, in, err
	}
	res, err := s.Services.Alerts.IngestAlerts(r.Context(), in, alerts)
	if err != nil {
		return nil, in, err
	}
	if s.Metrics != nil {
		s.Metrics.observeIngest(in.Name, res)
	}
	return res, in, nil
}

var errTooLarge = errors.New("too large")

// readBody reads a request body of the given length (-1 if unknown) into
// one buffer of its size, where io.ReadAll would start small and grow.
// net/http's body reader ends at the length it was given, so the body is
// never longer; a shorter one (the client went away) is an error.
func readBody(body io.Reader, length int64) ([]byte, error) {
	if length <= 0 || length > MaxIntakeBytes {
		return io.ReadAll(body)
	}
	b := make([]byte, length)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// intakeError counts a refused intake request and returns what to answer.
func (s *Server) intakeError(w http.ResponseWriter, in *vigil.Integration, err error) error {
	name := "unknown"
	if in != nil {
		name = in.Name
	}
	result := vigil.ErrorCode(err)
	switch {
	case errors.Is(err, errTooLarge):
		result = "too_large"
		err = &Problem{Status: http.StatusRequestEntityTooLarge, Code: vigil.EINVALID,
			Detail: fmt.Sprintf("The request body must be at most %d bytes; send fewer alerts per request.", MaxIntakeBytes)}
	case errors.Is(err, errOverloaded), errors.Is(err, errIntegrationBusy):
		result = "overloaded"
		w.Header().Set("Retry-After", "1")
		status, detail := http.StatusServiceUnavailable, "Vigil is taking in more alerts than it can store right now; retry in a second."
		if errors.Is(err, errIntegrationBusy) {
			status, detail = http.StatusTooManyRequests, "This integration has too many requests in flight; retry in a second."
		}
		err = &Problem{Status: status, Code: vigil.ETOOMANY, Detail: detail}
	case errors.Is(err, context.Canceled):
		result = "canceled"
	}
	if s.Metrics != nil {
		s.Metrics.intakeRequests.WithLabelValues(name, result).Inc()
	}
	return err
}

// theHiveResponse answers TheHive's alert API the way TheHive does: 201
// with the alert, so clients that read its _id work unchanged.
func theHiveResponse(in *vigil.Integration, res *vigil.IngestResult, now time.Time) TheHiveAlertCreated {
	id := ""
	if len(res.AlertIDs) > 0 {
		id = "~" + strconv.FormatInt(res.AlertIDs[0], 10)
	}
	return TheHiveAlertCreated{UnderscoreID: id, ID: id, Type: "Alert", Status: "New", CreatedBy: "integration:" + in.Name,
		CreatedAt: now.UnixMilli(), Vigil: res}
}

// TheHiveAlertCreated is the answer of the TheHive-compatible alert API:
// the fields of TheHive's own answer that its clients read, and Vigil's.
type TheHiveAlertCreated struct {
	UnderscoreID string              `json:"_id"`
	ID           string              `json:"id"`
	Type         string              `json:"_type"`
	Status       string              `json:"status"`
	CreatedBy    string              `json:"createdBy"`
	CreatedAt    int64               `json:"createdAt"`
	Vigil        *vigil.IngestResult `json:"vigil"`
}

// --- integrations (admins) ---

// IntegrationCreated answers the creation or token rotation of an
// integration: the token, shown only now, and the URLs to post to.
type IntegrationCreated struct {
	Integration *vigil.Integration `json:"integration"`
	Token       string             `json:"token"`
	URL         string             `json:"url"`            // post here with Authorization: Bearer <token>
	URLWithKey  string             `json:"url_with_token"` // for tools that cannot set headers; keep it secret
}

// IntakeURLs returns where an integration posts, under base.
func IntakeURLs(base string, kind vigil.IntegrationKind, token string) (url, withToken string) {
	base = strings.TrimRight(base, "/")
	url = base + "/api/v1/intake/" + string(kind)
	return url, url + "/" + token
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// IntegrationList is the integrations.
type IntegrationList struct {
	Integrations []*vigil.Integration `json:"integrations"`
}

func (s *Server) handleIntegrationList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Services.Integrations.FindIntegrations(r.Context())
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, IntegrationList{Integrations: list})
	return nil
}

func (s *Server) handleIntegrationCreate(w http.ResponseWriter, r *http.Request) error {
	var in vigil.Integration
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	in.ID, in.Version, in.TokenHint = 0, 0, ""
	token, err := s.Services.Integrations.CreateIntegration(r.Context(), &in)
	if err != nil {
		return err
	}
	url, withToken := IntakeURLs(baseURL(r), in.Kind, token)
	s.json(w, http.StatusCreated, IntegrationCreated{Integration: &in, Token: token, URL: url, URLWithKey: withToken})
	return nil
}

func (s *Server) handleIntegrationView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	in, err := s.Services.Integrations.FindIntegrationByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, in)
	return nil
}

func (s *Server) handleIntegrationUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	var u vigil.IntegrationUpdate
	if err := s.decode(w, r, &u); err != nil {
		return err
	}
	in, err := s.Services.Integrations.UpdateIntegration(r.Context(), id, u)
	if err != nil {
		return err
	}
	s.integrations.clear()
	s.json(w, http.StatusOK, in)
	return nil
}

func (s *Server) handleIntegrationRotate(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	token, err := s.Services.Integrations.RotateIntegrationToken(r.Context(), id)
	if err != nil {
		return err
	}
	s.integrations.clear()
	in, err := s.Services.Integrations.FindIntegrationByID(r.Context(), id)
	if err != nil {
		return err
	}
	url, withToken := IntakeURLs(baseURL(r), in.Kind, token)
	s.json(w, http.StatusOK, IntegrationCreated{Integration: in, Token: token, URL: url, URLWithKey: withToken})
	return nil
}

func (s *Server) handleIntegrationDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Services.Integrations.DeleteIntegration(r.Context(), id); err != nil {
		return err
	}
	s.integrations.clear()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- the triage queue ---

func (s *Server) handleAlertGroupList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "state", "severity", "integration", "sort", "limit", "offset")
	f := vigil.AlertGroupFilter{
		States: enumList[vigil.GroupState](q, "state"), Severities: enumList[vigil.Severity](q, "severity"),
		Sort: q.str("sort"), Limit: q.int("limit", 50), Offset: q.int("offset", 0),
	}
	if v := q.str("integration"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return vigil.Invalid("integration", "Must be an integration ID.")
		}
		f.IntegrationID = n
	}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.Services.Alerts.FindAlertGroups(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, page)
	return nil
}

func (s *Server) handleAlertGroupView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	g, err := s.Services.Alerts.FindAlertGroupByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, g)
	return nil
}

// GroupActionResult says what a triage action did.
type GroupActionResult struct {
	IncidentID *int64 `json:"incident_id"`
}

func (s *Server) handleAlertGroupAction(w http.ResponseWriter, r *http.Request) error {
	var a vigil.GroupAction
	if err := s.decode(w, r, &a); err != nil {
		return err
	}
	id, err := s.Services.Alerts.ActOnGroups(r.Context(), a)
	if err != nil {
		return err
	}
	var res GroupActionResult
	if id != 0 {
		res.IncidentID = &id
	}
	s.json(w, http.StatusOK, res)
	return nil
}

// AlertList is a page of alerts.
type AlertList struct {
	Alerts []*vigil.Alert `json:"alerts"`
}

func (s *Server) handleAlertList(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, "group", "integration", "status", "limit", "offset")
	f := vigil.AlertFilter{Status: enumList[vigil.AlertStatus](q, "status"), Limit: q.int("limit", 50), Offset: q.int("offset", 0)}
	for name, p := range map[string]*int64{"group": &f.GroupID, "integration": &f.IntegrationID} {
		if v := q.str(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return vigil.Invalid(name, "Must be an ID.")
			}
			*p = n
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	list, err := s.Services.Alerts.FindAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, AlertList{Alerts: list})
	return nil
}

func (s *Server) handleAlertView(w http.ResponseWriter, r *http.Request) error {
	id, err := vigil.ParseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := s.Services.Alerts.FindAlertByID(r.Context(), id)
	if err != nil {
		return err
	}
	s.json(w, http.StatusOK, a)
	return nil
}
