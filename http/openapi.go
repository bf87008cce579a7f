package http

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// op describes an API operation for the OpenAPI document.
type op struct {
	ID, Tag, Summary string
	Body             any // request body type (a zero value), nil for none
	Resp             any // success body type, nil for none
	Status           int // success status; default 200
	Query            []param
	Public           bool           // no authentication needed
	ETag             bool           // answers with an ETag and honours If-None-Match
	Versioned        bool           // takes If-Match; a stale version is 412 with the current resource
	Media            string         // the success body's media type; default application/json
	Upload           map[string]any // a multipart/form-data request body of this schema
	RawBody          string         // a request body of bytes of this media type
	Binary           bool           // the success body is bytes of type Media, not JSON
	// Idempotent routes create something and take an Idempotency-Key: a
	// retry with the same key and request gets the first answer again.
	Idempotent bool
	Long       bool // exports or imports: ExportTimeout, not StoreTimeout (see Long)
	// Scope is the scope an API token needs for the operation, on top of
	// what its user's role allows: by default write for every method that
	// changes state and none for reads (tokenScope). SessionOnly refuses
	// tokens outright: what only a person at a browser may do.
	Scope       vigil.Scope
	SessionOnly bool
}

// param is a query parameter.
type param struct {
	Name, Desc string
	Schema     map[string]any
	Multi      bool // repeated or comma-separated
}

type apiRoute struct {
	method, path string
	op           op
}

func enumOf[T ~string](vs []T) map[string]any {
	e := make([]any, len(vs))
	for i, v := range vs {
		e[i] = string(v)
	}
	return map[string]any{"type": "string", "enum": e}
}
func str() map[string]any     { return map[string]any{"type": "string"} }
func boolean() map[string]any { return map[string]any{"type": "boolean"} }
func integer() map[string]any { return map[string]any{"type": "integer"} }
func intRange(lo, hi int) map[string]any {
	return map[string]any{"type": "integer", "minimum": lo, "maximum": hi}
}

// apiHandler is an API handler. It either writes its answer and returns
// nil, or writes nothing and returns the error, for the route to write.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

// writeErrors adapts an apiHandler to net/http: the error it returns is
// written by s.error, the one place that writes an API handler's error.
func (s *Server) writeErrors(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.error(w, r, err)
		}
	}
}

// api registers an API route and its operation.
func (s *Server) api(pattern string, h apiHandler, o op) {
	method, path, _ := strings.Cut(pattern, " ")
	hf := s.writeErrors(tokenScoped(method, o, h))
	if o.Idempotent {
		hf = s.idempotent(hf, s.error)
	}
	if o.Long {
		s.mux.Handle(pattern, Long(hf))
	} else {
		s.mux.HandleFunc(pattern, hf)
	}
	s.apiRoutes = append(s.apiRoutes, apiRoute{method: method, path: path, op: o})
}

// tokenScope is the scope an API token needs for an operation: the one it
// names, else write for a method that changes state. The admin scope
// covers write (a token with it may also administer).
func tokenScope(method string, o op) vigil.Scope {
	if o.Scope != "" {
		return o.Scope
	}
	if unsafeMethod(method) {
		return vigil.ScopeWrite
	}
	return ""
}

// tokenScoped is the one rule for API tokens' scopes by operation (issue
// 21): a read token changes nothing, and what manages tokens or a
// person's sign-in needs a browser session or the admin scope. The
// services check each permission's scope as well; this rule holds even
// where one forgets to.
func tokenScoped(method string, o op, h apiHandler) apiHandler {
	if o.Public {
		return h
	}
	need := tokenScope(method, o)
	return func(w http.ResponseWriter, r *http.Request) error {
		a := vigil.ActorFromContext(r.Context())
		if a == nil || a.TokenID == 0 {
			return h(w, r)
		}
		if o.SessionOnly {
			return vigil.Errorf(vigil.EFORBIDDEN, "API tokens cannot do that: sign in at a browser.")
		}
		if need != "" && !slices.Contains(a.Scopes, need) && !(need == vigil.ScopeWrite && slices.Contains(a.Scopes, vigil.ScopeAdmin)) {
			return vigil.Errorf(vigil.EFORBIDDEN, "This API token's scopes do not allow that: it needs the %s scope.", need)
		}
		return h(w, r)
	}
}

// enums are the allowed values of Vigil's string types.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[vigil.Status]():                 strs(vigil.Statuses),
	reflect.TypeFor[vigil.Severity]():               strs(vigil.Severities),
	reflect.TypeFor[vigil.IncidentType]():           strs(vigil.IncidentTypes),
	reflect.TypeFor[vigil.TLP]():                    strs(vigil.TLPs),
	reflect.TypeFor[vigil.Source]():                 strs(vigil.Sources),
	reflect.TypeFor[vigil.Role]():                   strs(vigil.Roles),
	reflect.TypeFor[vigil.Scope]():                  strs(vigil.Scopes),
	reflect.TypeFor[vigil.MFAPolicy]():              strs(vigil.MFAPolicies),
	reflect.TypeFor[vigil.Permission]():             nil,
	reflect.TypeFor[vigil.TimelineKind]():           strs(vigil.TimelineKinds),
	reflect.TypeFor[vigil.TaskStatus]():             strs(vigil.TaskStatuses),
	reflect.TypeFor[vigil.Phase]():                  append([]string{""}, strs(vigil.Phases)...),
	reflect.TypeFor[vigil.LinkKind]():               strs(vigil.LinkKinds),
	reflect.TypeFor[vigil.IncidentRole]():           strs(vigil.IncidentRoles),
	reflect.TypeFor[vigil.SearchKind]():             strs(vigil.SearchKinds),
	reflect.TypeFor[vigil.ObservableType]():         append(strs(vigil.ObservableTypes), string(vigil.ObsHash)),
	reflect.TypeFor[vigil.IntegrationKind]():        strs(vigil.IntegrationKinds),
	reflect.TypeFor[vigil.GroupState]():             strs(vigil.GroupStates),
	reflect.TypeFor[vigil.AlertStatus]():            {string(vigil.AlertFiring), string(vigil.AlertResolved)},
	reflect.TypeFor[vigil.ObligationStatus]():       strs(vigil.ObligationStatuses),
	reflect.TypeFor[vigil.ContactRole]():            strs(vigil.ContactRoles),
	reflect.TypeFor[vigil.Integrity]():              {string(vigil.IntegrityUnverified), string(vigil.IntegrityOK), string(vigil.IntegrityMismatch), string(vigil.IntegrityMissing), ""},
	reflect.TypeFor[vigil.CustodyAction]():          strs(vigil.CustodyActions),
	reflect.TypeFor[vigil.ReviewStatus]():           {string(vigil.ReviewOpen), string(vigil.ReviewClosed)},
	reflect.TypeFor[vigil.ExerciseKind]():           strs(vigil.ExerciseKinds),
	reflect.TypeFor[vigil.ExerciseStatus]():         strs(vigil.ExerciseStatuses),
	reflect.TypeFor[vigil.AdvisoryKind]():           strs(vigil.AdvisoryKinds),
	reflect.TypeFor[vigil.AdvisoryStatus]():         strs(vigil.AdvisoryStatuses),
	reflect.TypeFor[vigil.AudienceKind]():           strs(vigil.AudienceKinds),
	reflect.TypeFor[vigil.AdvisoryResponseStatus](): append([]string{""}, strs(vigil.AdvisoryResponseStatuses)...),
	reflect.TypeFor[vigil.ReadinessState]():         {string(vigil.ReadyOK), string(vigil.ReadyDue), string(vigil.ReadyMissing)},
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// schemaGen builds JSON Schemas (2020-12, as OpenAPI 3.1 uses) from Go types.
// Response schemas require every member that is always written (no
// omitempty); request schemas require none, since Vigil's own validation
// names missing fields more helpfully, and both reject unknown members.
type schemaGen struct {
	components map[string]any
}

type mode int

const (
	response mode = iota
	request
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[vigil.Duration]()
	rawType      = reflect.TypeFor[json.RawMessage]()
	nullableName = regexp.MustCompile(`^Nullable\[(.*)\]$`)
)

func (g *schemaGen) schema(t reflect.Type, m mode) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return anyJSON()
	case t == durationType:
		if m == request {
			return map[string]any{"description": "A Go duration such as \"10m\", or seconds.", "type": []any{"string", "number"}}
		}
		return map[string]any{"type": "string", "description": "A Go duration such as \"10m0s\"."}
	case t.Kind() == reflect.Pointer:
		return nullable(g.schema(t.Elem(), m))
	case t.Kind() == reflect.Struct && nullableName.MatchString(t.Name()):
		f, _ := t.FieldByName("V")
		return nullable(g.schema(f.Type, m))
	}
	switch t.Kind() {
	case reflect.String:
		s := map[string]any{"type": "string"}
		if e, ok := enums[t]; ok && e != nil {
			s["enum"] = e
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		s := map[string]any{"type": "integer"}
		if t.Kind() == reflect.Int64 {
			s["format"] = "int64"
		}
		return s
	case reflect.Uint32: // IMAP UIDs
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0, "maximum": 1<<32 - 1}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		elem := t.Elem()
		if elem.Kind() == reflect.Pointer {
			elem = elem.Elem() // Vigil never writes null inside a list
		}
		return map[string]any{"type": "array", "items": g.schema(elem, m)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem(), m)}
	case reflect.Interface:
		return anyJSON()
	case reflect.Struct:
		return g.object(t, m)
	}
	panic("openapi: no schema for " + t.String())
}

// anyJSON is any JSON value, null included, spelled out so that
// validators that read {} as "not nullable" agree.
func anyJSON() map[string]any {
	return map[string]any{"type": []any{"object", "array", "string", "number", "boolean", "null"}}
}

// nullable allows null beside s.
func nullable(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok {
		out := map[string]any{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{typ, "null"}
		if e, ok := out["enum"].([]string); ok {
			out["enum"] = append(append([]any{}, toAny(e)...), nil)
		}
		return out
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// object returns a $ref to the struct's component, building it once.
func (g *schemaGen) object(t reflect.Type, m mode) map[string]any {
	name := t.Name()
	if m == request {
		name += "Input"
	}
	ref := map[string]any{"$ref": "#/components/schemas/" + name}
	if _, ok := g.components[name]; ok {
		return ref
	}
	g.components[name] = nil // a placeholder, for recursive types
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				walk(ft)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type, m)
			if m == response && !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		obj["required"] = required
	}
	g.components[name] = obj
	return ref
}

// pathParam documents a path parameter.
func pathParam(name string) map[string]any {
	s := map[string]any{"type": "string", "pattern": "^[0-9]+$"}
	desc := "A numeric ID."
	switch name {
	case "id":
		s["pattern"] = `^([0-9]+|INC-[0-9]{4}-[0-9]{6,})$`
		desc = "A numeric ID; for incidents also the reference, such as INC-2026-000123."
	case "role":
		s = map[string]any{"type": "string", "enum": toAny(strs(vigil.IncidentRoles))}
		desc = "The incident role."
	case "user":
		desc = "A user ID."
	case "ref":
		s = map[string]any{"type": "string", "pattern": "^[Aa][Dd][Vv]-[0-9]{4}-[0-9]{4,}$"}
		desc = "An advisory's reference, such as ADV-2026-0001."
	case "slug":
		s = map[string]any{"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$"}
		desc = "An organisation's slug."
	case "username":
		s = map[string]any{"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}
		desc = "A username."
	case "pack":
		s = map[string]any{"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}
		desc = "A duty pack's id."
	case "kind":
		s = map[string]any{"type": "string", "enum": toAny(strs(vigil.IntegrationKinds))}
		desc = "The integration's kind: the format of the payload."
	case "token":
		s = map[string]any{"type": "string", "pattern": "^" + vigil.IntegrationTokenPrefix + "[A-Za-z0-9_-]+$"}
		desc = "The integration token, for tools that cannot send an Authorization header."
	}
	return map[string]any{"name": name, "in": "path", "required": true, "description": desc, "schema": s}
}

var pathParamRE = regexp.MustCompile(`\{([a-z]+)\}`)

// openAPIDoc builds the OpenAPI 3.1 document from the route table.
func (s *Server) openAPIDoc() map[string]any {
	g := &schemaGen{components: map[string]any{}}
	problem := g.schema(reflect.TypeFor[Problem](), response)
	problemResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/problem+json": map[string]any{"schema": problem}}}
	}
	paths := map[string]any{}
	for _, rt := range s.apiRoutes {
		o := rt.op
		var params []any
		for _, m := range pathParamRE.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, pathParam(m[1]))
		}
		for _, p := range o.Query {
			schema := p.Schema
			if p.Multi {
				schema = map[string]any{"type": "array", "items": p.Schema}
			}
			qp := map[string]any{"name": p.Name, "in": "query", "description": p.Desc, "schema": schema}
			if p.Multi {
				// Comma-separated; the server also takes the parameter repeated.
				qp["style"], qp["explode"] = "form", false
			}
			params = append(params, qp)
		}
		status := o.Status
		if status == 0 {
			status = http.StatusOK
		}
		success := map[string]any{"description": http.StatusText(status)}
		if o.Binary {
			content := map[string]any{}
			for _, m := range strings.Split(o.Media, ",") { // one or several media types
				content[strings.TrimSpace(m)] = map[string]any{}
			}
			success["content"] = content
		}
		if o.Resp != nil {
			media := o.Media
			if media == "" {
				media = "application/json"
			}
			success["content"] = map[string]any{media: map[string]any{"schema": g.schema(reflect.TypeOf(o.Resp), response)}}
		}
		responses := map[string]any{itoa(status): success, "default": problemResp("An error, as RFC 9457 problem details.")}
		if o.ETag {
			success["headers"] = map[string]any{"ETag": map[string]any{"description": "The version, for If-Match.", "schema": str()}}
			params = append(params, map[string]any{"name": "If-None-Match", "in": "header", "description": "An ETag; 304 if unchanged.", "schema": str()})
			responses["304"] = map[string]any{"description": "Not modified."}
		}
		if o.Versioned {
			params = append(params, map[string]any{"name": "If-Match", "in": "header", "schema": str(),
				"description": "The ETag of the version being changed. Required unless the body has version."})
			responses["412"] = problemResp("The resource changed since that version; current holds it as it is now.")
			responses["428"] = problemResp("Neither If-Match nor version was given.")
		}
		if o.Idempotent {
			params = append(params, map[string]any{"name": IdempotencyKeyHeader, "in": "header", "schema": map[string]any{"type": "string", "minLength": 1},
				"description": "A key of your choosing, 1 to 255 printable ASCII characters, bare or as a structured-field string (\"…\"). " +
					"A retry with the same key and the same body, within 24 hours, gets the first answer again (marked Idempotent-Replayed: true) and does nothing more."})
			headers, _ := success["headers"].(map[string]any)
			if headers == nil {
				headers = map[string]any{}
				success["headers"] = headers
			}
			headers[ReplayedHeader] = map[string]any{"description": "true on an answer given again to a retry with the same Idempotency-Key.",
				"schema": map[string]any{"type": "string", "enum": []any{"true"}}}
			responses["409"] = problemResp("A request with this Idempotency-Key is still in progress; retry after Retry-After seconds.")
			responses["422"] = problemResp("This Idempotency-Key was used with a different request (code key_reused), " +
				"or the request first sent with it was applied but its answer was lost (code answer_lost): it is not run again.")
		}
		operation := map[string]any{"operationId": o.ID, "summary": o.Summary, "tags": []any{o.Tag}, "responses": responses}
		if len(params) > 0 {
			operation["parameters"] = params
		}
		if o.Body != nil {
			operation["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(o.Body), request)}}}
		}
		if o.RawBody != "" {
			operation["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				o.RawBody: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		}
		if o.Upload != nil {
			operation["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"multipart/form-data": map[string]any{"schema": o.Upload}}}
		}
		if o.Public {
			operation["security"] = []any{}
		} else if o.SessionOnly {
			operation["x-token-scope"] = "none: a browser session only"
		} else if sc := tokenScope(rt.method, o); sc != "" {
			operation["x-token-scope"] = string(sc)
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation
	}
	text := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"text/plain": map[string]any{"schema": str()}}}
	}
	paths["/healthz"] = map[string]any{"get": map[string]any{"operationId": "healthz", "summary": "Liveness", "tags": []any{"Operations"},
		"security": []any{}, "responses": map[string]any{"200": text("The process serves.")}}}
	paths["/readyz"] = map[string]any{"get": map[string]any{"operationId": "readyz", "summary": "Readiness: the store answers", "tags": []any{"Operations"},
		"security": []any{}, "responses": map[string]any{"200": text("Ready."), "503": text("The store does not answer.")}}}
	paths["/metrics"] = map[string]any{"get": map[string]any{"operationId": "metrics", "summary": "Prometheus metrics (admins)", "tags": []any{"Operations"},
		"responses": map[string]any{"200": text("Prometheus text exposition format."), "default": problemResp("An error.")}}}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Vigil API", "version": vigil.Version,
			"description": "The JSON API of Vigil, a cyber security incident management platform. Errors are RFC 9457 problem details. " +
				"Authenticate with an API token (Authorization: Bearer vgl_…) or a browser session; session requests that change state need X-CSRF-Token.",
			"license": map[string]any{"name": "See the repository"}},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "An API token, vgl_…"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// OpenAPI returns the document as JSON, built once.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() {
		b, err := json.MarshalIndent(s.openAPIDoc(), "", "  ")
		if err != nil {
			panic("openapi: " + err.Error()) // built from fixed types: a programming error
		}
		s.openapiJSON = b
	})
	return s.openapiJSON
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(s.OpenAPI())
	return nil
}
