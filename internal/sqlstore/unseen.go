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

// visibleReferences returns which of refs name incidents the actor may see.
func (tx *Tx) visibleReferences(refs []string) (map[string]bool, error) {
	seen := map[string]bool{}
	if len(refs) == 0 {
		return seen, nil
	}
	vis, vargs := tx.visible()
	got, err := queryAll(tx, scanString, `SELECT i.reference FROM incidents i WHERE i.reference IN (`+placeholders(len(refs))+`) AND `+vis,
		append(anySlice(refs), vargs...)...)
	for _, r := range got {
		seen[r] = true
	}
	return seen, err
}

// visibleIDs returns which of ids are incidents the actor may see.
func (tx *Tx) visibleIDs(ids []int64) (map[int64]bool, error) {
	seen := map[int64]bool{}
	if len(ids) == 0 {
		return seen, nil
	}
	vis, vargs := tx.visible()
	got, err := queryAll(tx, scanInt64, `SELECT i.id FROM incidents i WHERE i.id IN (`+placeholders(len(ids))+`) AND `+vis,
		append(anySlice(ids), vargs...)...)
	for _, id := range got {
		seen[id] = true
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
	seen, err := tx.visibleIDs(ids)
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
	seenRefs, err := tx.visibleReferences(refs)
	if err != nil {
		return err
	}
	seenIDs, err := tx.visibleIDs(ids)
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
