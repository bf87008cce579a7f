package intake

import (
	"fmt"
	json "github.com/goccy/go-json"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-ir/vigil"
)

// parseMapped reads generic JSON and Kibana webhook connector bodies through
// the integration's field mapping.
func parseMapped(body []byte, m *vigil.FieldMapping) ([]*vigil.AlertInput, error) {
	tree, err := decodeAny(body)
	if err != nil {
		return nil, err
	}
	items := []any{tree}
	if m.Alerts != "" {
		v, ok := Lookup(tree, m.Alerts)
		arr, isArr := v.([]any)
		switch {
		case !ok:
			return nil, vigil.Invalid(m.Alerts, "The payload has no %q, where this integration's mapping expects the array of alerts.", m.Alerts)
		case !isArr:
			// One alert where an array was expected: take it as it is.
			items = []any{v}
		default:
			items = arr
		}
	}
	out := make([]*vigil.AlertInput, 0, len(items))
	for i, item := range items {
		if _, ok := item.(map[string]any); !ok {
			field := "payload"
			if m.Alerts != "" {
				field = fmt.Sprintf("%s[%d]", m.Alerts, i)
			}
			return nil, vigil.Invalid(field, "Each alert must be a JSON object.")
		}
		a, err := mappedAlert(item, m)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func mappedAlert(item any, m *vigil.FieldMapping) (*vigil.AlertInput, error) {
	labels := map[string]string{}
	flatten("", item, labels, vigil.MaxAlertLabels)
	get := func(path string) string {
		if path == "" {
			return ""
		}
		v, ok := Lookup(item, path)
		if !ok {
			return ""
		}
		return scalarString(v)
	}
	a := &vigil.AlertInput{
		Fingerprint: get(m.Fingerprint),
		Status:      vigil.AlertFiring,
		Title:       get(m.Title),
		Description: get(m.Description),
		URL:         get(m.URL),
		Labels:      labels,
	}
	a.At = readTime(a, m.Time, get(m.Time))
	if m.Title != "" && a.Title == "" {
		return nil, vigil.Invalid(m.Title, "The alert has no %q, where this integration's mapping takes the title from.", m.Title)
	}
	if raw, err := json.Marshal(item); err == nil {
		a.Raw = raw
	}
	if s, ok := mapSeverity(get(m.Severity), m.Severities); ok {
		a.Severity = s
	}
	switch strings.ToLower(get(m.Status)) {
	case "resolved", "ok", "closed", "recovered", "inactive", "recovered_alert":
		a.Status = vigil.AlertResolved
	}
	// Mapped paths first, in path order, then what field names suggest.
	paths := make([]string, 0, len(m.Observables))
	for p := range m.Observables {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		v, ok := Lookup(item, p)
		if !ok {
			continue
		}
		t := m.Observables[p]
		_, hashField := vigil.HashField(p)
		for _, s := range scalarStrings(v) {
			// "Detect" finds a digest only in a field that may hold one.
			if t == "" && !hashField {
				if dt, ok := vigil.DetectObservableType(s); !ok || isHashType(dt) {
					continue
				}
			}
			a.Observables = append(a.Observables, vigil.ObservableInput{Type: t, Value: s})
		}
	}
	a.Observables = append(a.Observables, observablesFromLabels(labels, sortedKeys(labels))...)
	return a, nil
}

// Lookup finds a dotted path in decoded JSON. Each step is an object key
// or an array index; because Elastic documents often hold dotted keys
// ("kibana.alert.rule.name" as one key), a longer dotted key is tried
// before a shorter one at each step.
func Lookup(v any, path string) (any, bool) {
	path = strings.TrimSuffix(strings.TrimPrefix(path, "$."), "[]")
	if path == "" || path == "$" {
		return v, true
	}
	parts := strings.Split(path, ".")
	return lookupParts(v, parts, 0)
}

func lookupParts(v any, parts []string, depth int) (any, bool) {
	if len(parts) == 0 {
		return v, true
	}
	if depth > MaxDepth {
		return nil, false
	}
	switch x := v.(type) {
	case map[string]any:
		for n := len(parts); n >= 1; n-- {
			key := strings.Join(parts[:n], ".")
			if child, ok := x[key]; ok {
				if r, ok := lookupParts(child, parts[n:], depth+1); ok {
					return r, true
				}
			}
		}
	case []any:
		i, err := strconv.Atoi(parts[0])
		if err == nil && i >= 0 && i < len(x) {
			return lookupParts(x[i], parts[1:], depth+1)
		}
	}
	return nil, false
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		// A list of scalars reads as its first, as Elastic's keyword arrays.
		for _, e := range x {
			if s := scalarString(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func scalarStrings(v any) []string {
	if arr, ok := v.([]any); ok {
		var out []string
		for _, e := range arr {
			if s := scalarString(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := scalarString(v); s != "" {
		return []string{s}
	}
	return nil
}
