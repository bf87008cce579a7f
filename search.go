package vigil

import "context"

// MaxQueryLen bounds a search query.
const MaxQueryLen = 500

// SearchKind is the kind of document a search hit is in.
type SearchKind string

// The searchable document kinds.
const (
	SearchIncident   SearchKind = "incident"   // reference, title, summary, affected services
	SearchNote       SearchKind = "note"       // hand-written timeline notes
	SearchObservable SearchKind = "observable" // observable values and descriptions
)

// SearchKinds lists the kinds.
var SearchKinds = []SearchKind{SearchIncident, SearchNote, SearchObservable}

// SearchQuery is a full-text search. Words must all match (in any order);
// "quoted phrases" match as phrases; the last word matches as a prefix.
type SearchQuery struct {
	Query  string
	Kinds  []SearchKind // default all
	Offset int
	Limit  int
}

// SearchHit is one matching document, best first.
type SearchHit struct {
	Kind     SearchKind  `json:"kind"`
	ObjectID int64       `json:"object_id"` // the incident, note (timeline entry) or observable
	Incident IncidentRef `json:"incident"`
	// Snippet is the matching text with the matches between <mark> and
	// </mark>; everything else in it is HTML-escaped, so it is safe to show.
	Snippet string  `json:"snippet"`
	Rank    float64 `json:"rank"` // higher is better; comparable within one result only
}

// SearchService searches incidents, notes and observables. Hits respect
// VisibilityFor: a TLP:RED incident's text is never found by non-members.
type SearchService interface {
	Search(ctx context.Context, q SearchQuery) ([]*SearchHit, error)
}
