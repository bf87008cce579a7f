package sqlstore

import (
	"regexp"
	"slices"

	"github.com/vigil-ir/vigil"
)

// What one incident says of another must not show the other to those who
// may not see it: marking an incident a duplicate of a TLP:RED one, or
// linking them, wrote the RED incident's reference on the visible one's
// timeline and its ID in duplicate_of. Both are hidden on the way out, per
// reader, through the one visibility clause; what is stored stays whole,
// for those who may see it.

// Unseen is what stands in a timeline message for an incident the reader
// may not see.
const Unseen = "an incident you cannot see"

// referenceInText finds incident references in free text.
var referenceInText = regexp.MustCompile(`\bINC-\d{4}-\d{6,}\b`)

// visibleBy returns which of vals, values of the incidents' column col
// (the reference or the id), name incidents the actor may see.
func visibleBy[T comparable](tx *Tx, col string, scan func(rowScanner) (T, error), vals []T) (map[T]bool, error) {
	seen := map[T]bool{}
	if len(vals) == 0 {
		return seen, nil
	}
	vis, vargs := tx.visible()
	got, err := queryAll(tx, scan, `SELECT i.`+col+` FROM incidents i WHERE i.`+col+` IN (`+placeholders(len(vals))+`) AND `+vis,
		append(anySlice(vals), vargs...)...)
	for _, v := range got {
		seen[v] = true
	}
	return seen, err
}

// hideUnseenDuplicates clears duplicate_of where it names an incident the
// actor may not see. Only for what is handed out: a write that saves an
// incident back must keep the stored value.
func (tx *Tx) hideUnseenDuplicates(incs ...*vigil.Incident) error {
	if tx.vis.All {
		return nil
	}
	var ids []int64
	for _, inc := range incs {
		if inc != nil && inc.DuplicateOf != nil && !slices.Contains(ids, *inc.DuplicateOf) {
			ids = append(ids, *inc.DuplicateOf)
		}
	}
	seen, err := visibleBy(tx, "id", scanInt64, ids)
	if err != nil {
		return err
	}
	for _, inc := range incs {
		if inc != nil && inc.DuplicateOf != nil && !seen[*inc.DuplicateOf] {
			inc.DuplicateOf = nil
		}
	}
	return nil
}

// hideUnseenAlertIncidents clears the incident that alerts fed where the
// actor may not see it: the alerts are the default organisation's, and one
// of its triagers who works in another organisation too may have fed them
// into that one's incident.
func (tx *Tx) hideUnseenAlertIncidents(alerts ...*vigil.Alert) error {
	if tx.vis.All {
		return nil
	}
	var ids []int64
	for _, a := range alerts {
		if a.IncidentID != nil && !slices.Contains(ids, *a.IncidentID) {
			ids = append(ids, *a.IncidentID)
		}
	}
	seen, err := visibleBy(tx, "id", scanInt64, ids)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		if a.IncidentID != nil && !seen[*a.IncidentID] {
			a.IncidentID = nil
		}
	}
	return nil
}

// hideUnseenInTimeline replaces, in each entry, the references of
// incidents the actor may not see with Unseen, and the IDs they had in a
// duplicate_of change with nil.
func (tx *Tx) hideUnseenInTimeline(entries []*vigil.TimelineEntry) error {
	if tx.vis.All {
		return nil
	}
	var refs []string
	var ids []int64
	for _, e := range entries {
		for _, r := range referenceInText.FindAllString(e.Message, -1) {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
		for _, c := range e.Changes {
			if c.Field == "duplicate_of" {
				for _, v := range []any{c.From, c.To} {
					if id, ok := changeID(v); ok && !slices.Contains(ids, id) {
						ids = append(ids, id)
					}
				}
			}
		}
	}
	seenRefs, err := visibleBy(tx, "reference", scanString, refs)
	if err != nil {
		return err
	}
	seenIDs, err := visibleBy(tx, "id", scanInt64, ids)
	if err != nil {
		return err
	}
	for _, e := range entries {
		e.Message = referenceInText.ReplaceAllStringFunc(e.Message, func(r string) string {
			if seenRefs[r] {
				return r
			}
			return Unseen
		})
		for i, c := range e.Changes {
			if c.Field != "duplicate_of" {
				continue
			}
			if id, ok := changeID(c.From); ok && !seenIDs[id] {
				e.Changes[i].From = nil
			}
			if id, ok := changeID(c.To); ok && !seenIDs[id] {
				e.Changes[i].To = nil
			}
		}
	}
	return nil
}

// changeID reads an incident ID from a change's value as stored (a JSON
// number) or as made (an int64 or *int64).
func changeID(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x > 0
	case int64:
		return x, x > 0
	case *int64:
		if x != nil {
			return *x, *x > 0
		}
	}
	return 0, false
}

// hideUnseenText replaces, in each text, the references of incidents the
// actor may not see with Unseen: search snippets and a review's timeline,
// which quote notes and timeline messages.
func (tx *Tx) hideUnseenText(texts ...*string) error {
	if tx.vis.All {
		return nil
	}
	var refs []string
	for _, t := range texts {
		for _, r := range referenceInText.FindAllString(*t, -1) {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
	}
	seen, err := visibleBy(tx, "reference", scanString, refs)
	if err != nil {
		return err
	}
	for _, t := range texts {
		*t = referenceInText.ReplaceAllStringFunc(*t, func(r string) string {
			if seen[r] {
				return r
			}
			return Unseen
		})
	}
	return nil
}
