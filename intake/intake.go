// Package intake reads the webhook payloads of monitoring tools —
// Prometheus Alertmanager, Grafana, Splunk, Wazuh, Kibana and generic JSON
// through a field mapping, and TheHive's alert API — into vigil.AlertInput
// values. It maps data and does no I/O: the HTTP handler reads the body,
// Parse turns it into alerts, the store deduplicates and keeps them.
package intake

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-ir/vigil"
)

// MaxDepth bounds the nesting of a payload's JSON.
const MaxDepth = 64

// Parse reads body, a payload in the integration's format, into alerts,
// each prepared with the integration's defaults. A payload that is not
// what the format expects gets a *vigil.Error with code EINVALID that says
// what is wrong, with field names where they help.
func Parse(in *vigil.Integration, body []byte) ([]*vigil.AlertInput, error) {
	if in.Kind == vigil.IntegrationEmail {
		return nil, vigil.Errorf(vigil.EINVALID, "An email integration takes a raw message at /api/v1/intake/email (Content-Type: message/rfc822), not JSON.")
	}
	if err := CheckJSON(body); err != nil {
		return nil, err
	}
	var alerts []*vigil.AlertInput
	var err error
	switch in.Kind {
	case vigil.IntegrationAlertmanager:
		alerts, err = parseAlertmanager(body)
	case vigil.IntegrationGrafana:
		alerts, err = parseGrafana(body)
	case vigil.IntegrationSplunk:
		alerts, err = parseSplunk(body)
	case vigil.IntegrationWazuh:
		alerts, err = parseWazuh(body)
	case vigil.IntegrationTheHive:
		alerts, err = parseTheHive(body)
	case vigil.IntegrationElastic, vigil.IntegrationGeneric:
		alerts, err = parseMapped(body, &in.Mapping)
	default:
		return nil, vigil.Errorf(vigil.EINVALID, "Unknown integration kind %q.", in.Kind)
	}
	if err != nil {
		return nil, err
	}
	if len(alerts) > vigil.MaxAlertsPerRequest {
		return nil, vigil.Invalid("alerts", "At most %d alerts per request; this one holds %d.", vigil.MaxAlertsPerRequest, len(alerts))
	}
	keys := in.DedupKeys
	if len(keys) == 0 {
		keys = defaultDedupKeys[in.Kind]
	}
	for _, a := range alerts {
		if !in.Kind.NeedsMapping() {
			applyMappingOverrides(a, &in.Mapping)
		}
		if a.Fingerprint == "" && len(keys) > 0 {
			a.Fingerprint = vigil.ComputeFingerprint(in.Kind, a.Title, a.Labels, keys)
		}
		a.Prepare(in)
	}
	return alerts, nil
}

// defaultDedupKeys say what makes two alerts the same for the formats whose
// tools give no fingerprint, when the integration names no keys of its own.
var defaultDedupKeys = map[vigil.IntegrationKind][]string{
	// A saved search that fires again is the same alert.
	vigil.IntegrationSplunk: {"title"},
	// The same rule on the same agent about the same source and user.
	vigil.IntegrationWazuh: {"rule.id", "agent.id", "agent.name", "data.srcip", "data.srcuser", "data.dstuser"},
}

// applyMappingOverrides lets an integration of a fixed format take its
// severity from another field (a label), through its severity table.
func applyMappingOverrides(a *vigil.AlertInput, m *vigil.FieldMapping) {
	if m.Severity != "" {
		if v, ok := a.Labels[m.Severity]; ok {
			if s, ok := mapSeverity(v, m.Severities); ok {
				a.Severity = s
			}
		}
	} else if len(m.Severities) > 0 {
		if v, ok := a.Labels["severity"]; ok {
			if s, ok := mapSeverity(v, m.Severities); ok {
				a.Severity = s
			}
		}
	}
}

// mapSeverity reads v through the integration's table, then the common words.
func mapSeverity(v string, table map[string]vigil.Severity) (vigil.Severity, bool) {
	key := strings.ToLower(strings.TrimSpace(v))
	if s, ok := table[key]; ok {
		return s, true
	}
	return vigil.ParseAlertSeverity(key)
}

// CheckJSON refuses what is not one JSON value of valid UTF-8 nested at most
// MaxDepth deep, before any decoder spends time on it.
func CheckJSON(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return vigil.Errorf(vigil.EINVALID, "The request body is empty; send the alert as JSON.")
	}
	if !utf8.Valid(body) {
		return vigil.Errorf(vigil.EINVALID, "The request body is not valid UTF-8.")
	}
	if jsonDepth(body) > MaxDepth {
		return vigil.Errorf(vigil.EINVALID, "The JSON is nested more than %d levels deep.", MaxDepth)
	}
	// The decoders check the syntax (decode turns their errors into a
	// message); scanning twice would double the cost of every request.
	return nil
}

// jsonDepth returns how deep the objects and arrays of body nest, at most
// MaxDepth+1 (it stops there), brackets inside strings not counted. It
// skips each string with a vectorised search for its closing quote (one
// preceded by an even number of backslashes): string contents are most of
// a payload, and this runs on every intake request.
func jsonDepth(body []byte) int {
	depth, most := 0, 0
	for i := 0; i < len(body); {
		j := bytes.IndexAny(body[i:], `"{}[]`)
		if j < 0 {
			break
		}
		i += j
		switch body[i] {
		case '"':
			i = stringEnd(body, i+1)
		case '{', '[':
			depth++
			if most = max(most, depth); most > MaxDepth {
				return most
			}
			i++
		default:
			depth--
			i++
		}
	}
	return most
}

// stringEnd returns the index just past the quote that closes the string
// whose contents start at i (len(body) if none does).
func stringEnd(body []byte, i int) int {
	for {
		k := bytes.IndexByte(body[i:], '"')
		if k < 0 {
			return len(body)
		}
		i += k
		n := 0
		for p := i - 1; p >= 0 && body[p] == '\\'; p-- {
			n++
		}
		i++
		if n%2 == 0 {
			return i
		}
	}
}

// decode unmarshals body into v, turning type errors into field-level
// problems: `alerts[0].startsAt must be a string, not a JSON number`.
// A wrong type deep in a payload names its field, so the message says what
// to fix; only a payload that is not an object at all is "not a …".
// (go-json names no field for a type error inside a value that decodes
// itself, such as json.Number: the format structs hold none.)
func decode(body []byte, v any, what string) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	if se, ok := err.(*json.SyntaxError); ok {
		return vigil.Errorf(vigil.EINVALID, "The request body is not valid JSON: %s (at byte %d).", se.Error(), se.Offset)
	}
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		switch {
		case te.Field == "" && te.Type == reflect.TypeOf(v).Elem():
			return vigil.Errorf(vigil.EINVALID, "This is not %s: the payload is a JSON %s, not an object.", what, te.Value)
		case te.Field == "":
			return vigil.Errorf(vigil.EINVALID, "This is not %s: a field is a JSON %s where %s is expected.", what, te.Value, typeName(te.Type.String()))
		}
		field := problemField(te.Field)
		return vigil.Invalid(field, "In %s, %s must be %s, not a JSON %s.", what, field, typeName(te.Type.String()), te.Value)
	}
	return vigil.Errorf(vigil.EINVALID, "This is not %s: %v.", what, err)
}

// problemField writes go-json's path of a field ("alerts.0.startsAt") the
// way Vigil's problems name fields: "alerts[0].startsAt".
func problemField(path string) string {
	if !strings.ContainsAny(path, "0123456789") {
		return path
	}
	var b strings.Builder
	for i, part := range strings.Split(path, ".") {
		switch {
		case i > 0 && isDigits(part):
			b.WriteString("[" + part + "]")
		case i > 0:
			b.WriteString("." + part)
		default:
			b.WriteString(part)
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "struct"), strings.Contains(t, "."):
		return "an object"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return t
}

// parseTime reads the times tools send: RFC 3339 with or without
// fractions, Unix seconds or milliseconds. Zero and Go's zero time (which
// Alertmanager sends as endsAt "0001-01-01T00:00:00Z") read as zero, as
// does an empty s; ok is false when s is none of these.
func parseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() <= 1 {
				return time.Time{}, true
			}
			return t.UTC(), true
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1e15 {
		if f == 0 {
			return time.Time{}, true
		}
		return unixTime(f), true
	}
	return time.Time{}, false
}

// readTime reads the time in field of a's payload. One it cannot read is a
// warning on the alert, which takes the time it is received instead (the
// store's now, as for a time not given): an alert is not refused, nor its
// time silently replaced, for a "yesterday" in startsAt.
func readTime(a *vigil.AlertInput, field, s string) time.Time {
	t, ok := parseTime(s)
	if !ok {
		if len(s) > 64 {
			s = strings.ToValidUTF8(s[:64], "") + "…"
		}
		a.Warnings = append(a.Warnings, vigil.FieldError{Field: field,
			Message: fmt.Sprintf("%s %q is not a time Vigil reads (RFC 3339, or seconds or milliseconds since 1970); the time the alert was received is used instead.", field, s)})
	}
	return t
}

// unixTime reads seconds or, for values past the year 5000 in seconds,
// milliseconds since the epoch.
func unixTime(f float64) time.Time {
	if f > 1e11 {
		return time.UnixMilli(int64(f)).UTC()
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// fieldTypes types observables by the names of the fields that hold them,
// matched on the last part of a dotted name, lower-cased. "" detects the
// type of the value (an IP field may hold IPv4 or IPv6). Digests are typed
// by vigil.HashField, the one rule of which fields may hold them.
var fieldTypes = map[string]vigil.ObservableType{
	"ip": "", "srcip": "", "dstip": "", "src_ip": "", "dst_ip": "", "source_ip": "", "destination_ip": "",
	"client_ip": "", "clientip": "", "remote_addr": "", "remote_ip": "", "ipaddress": "", "ip_address": "",
	"host": vigil.ObsHostname, "hostname": vigil.ObsHostname, "host_name": vigil.ObsHostname,
	"computer": vigil.ObsHostname, "computer_name": vigil.ObsHostname, "instance": vigil.ObsHostname,
	"user": vigil.ObsUser, "username": vigil.ObsUser, "user_name": vigil.ObsUser, "srcuser": vigil.ObsUser,
	"dstuser": vigil.ObsUser, "src_user": vigil.ObsUser, "dest_user": vigil.ObsUser, "account": vigil.ObsUser,
	"url": vigil.ObsURL, "uri": vigil.ObsURL, "domain": vigil.ObsDomain, "fqdn": vigil.ObsDomain,
	"email": vigil.ObsEmail, "mail": vigil.ObsEmail, "sender": vigil.ObsEmail, "recipient": vigil.ObsEmail,
	"mac": vigil.ObsMAC, "mac_address": vigil.ObsMAC,
}

// hostFields name a field's parent when the field itself is just "name" or
// "ip": host.name, agent.name, host.ip, user.name.
var parentTypes = map[string]vigil.ObservableType{
	"host.name": vigil.ObsHostname, "agent.name": vigil.ObsHostname, "host.hostname": vigil.ObsHostname,
	"user.name": vigil.ObsUser, "source.ip": "", "destination.ip": "", "client.ip": "", "server.ip": "",
	"host.ip": "", "agent.ip": "", "source.address": "", "destination.address": "", "url.full": vigil.ObsURL,
	"url.original": vigil.ObsURL, "dns.question.name": vigil.ObsDomain, "file.name": vigil.ObsFileName,
	"user.email": vigil.ObsEmail,
}

// observablesFromLabels finds observables in fields whose names say what
// they hold. Labels are walked in sorted order so the result is stable.
func observablesFromLabels(labels map[string]string, keys []string) []vigil.ObservableInput {
	var out []vigil.ObservableInput
	for _, k := range keys {
		v := labels[k]
		if v == "" {
			continue
		}
		t, ok := lookupFieldType(strings.ToLower(k))
		if !ok {
			if t, ok = vigil.HashField(k); !ok {
				continue
			}
		}
		if t == vigil.ObsHostname {
			v = stripPort(v)
			// A host field that holds an address is an address.
			if it, ok := vigil.DetectObservableType(v); ok && (it == vigil.ObsIPv4 || it == vigil.ObsIPv6) {
				t = it
			}
		}
		for _, part := range splitValues(v) {
			if t == "" {
				// An address field: whatever else it holds, not a digest.
				if dt, ok := vigil.DetectObservableType(part); ok && !isHashType(dt) {
					out = append(out, vigil.ObservableInput{Type: dt, Value: part})
				}
				continue
			}
			out = append(out, vigil.ObservableInput{Type: t, Value: part})
		}
	}
	return out
}

func lookupFieldType(k string) (vigil.ObservableType, bool) {
	// k, or what follows any dot in it, may be one of parentTypes (none
	// of which ends another).
	for rest := k; ; {
		if t, ok := parentTypes[rest]; ok {
			return t, true
		}
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	last := k
	if i := strings.LastIndexAny(k, "./"); i >= 0 {
		last = k[i+1:]
	}
	// Array elements flatten to "x.0": name them by the array. A key that
	// is only a number names nothing.
	if _, err := strconv.Atoi(last); err == nil {
		if len(last) == len(k) {
			return "", false
		}
		if i := strings.LastIndexByte(k[:len(k)-len(last)-1], '.'); i >= 0 {
			last = k[i+1 : len(k)-len(last)-1]
		} else {
			last = k[:len(k)-len(last)-1]
		}
	}
	t, ok := fieldTypes[last]
	return t, ok
}

// isHashType reports whether t is a digest's type.
func isHashType(t vigil.ObservableType) bool {
	switch t {
	case vigil.ObsMD5, vigil.ObsSHA1, vigil.ObsSHA256, vigil.ObsSHA512, vigil.ObsHash:
		return true
	}
	return false
}

// splitValues splits a field that lists several values with commas.
func splitValues(v string) []string {
	if !strings.Contains(v, ",") || strings.Contains(v, "://") {
		return []string{strings.TrimSpace(v)}
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// stripPort removes ":port" from "host:9100" and "[::1]:9100", as in
// Prometheus's instance label.
func stripPort(v string) string {
	if strings.HasPrefix(v, "[") {
		if i := strings.Index(v, "]"); i > 0 {
			return v[1:i]
		}
	}
	if i := strings.LastIndexByte(v, ':'); i > 0 && strings.Count(v, ":") == 1 {
		if _, err := strconv.Atoi(v[i+1:]); err == nil {
			return v[:i]
		}
	}
	return v
}

// flatten writes v's scalar leaves into labels as dotted keys ("rule.id",
// "rule.groups.0"), at most max entries.
func flatten(prefix string, v any, labels map[string]string, max int) {
	if len(labels) >= max {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, vv, labels, max)
		}
	case []any:
		for i, vv := range x {
			flatten(prefix+"."+strconv.Itoa(i), vv, labels, max)
		}
	case string:
		labels[prefix] = x
	case json.Number:
		labels[prefix] = x.String()
	case float64:
		labels[prefix] = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		labels[prefix] = strconv.FormatBool(x)
	case nil:
	}
}

// decodeAny decodes body keeping numbers exact.
func decodeAny(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "The request body is not valid JSON: %v.", err)
	}
	return v, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
