package stix

import (
	"slices"
	"testing"

	"github.com/vigil-ir/vigil"
)

// TestIncidentCoreVocabularies: every status maps onto the Incident Core
// Extension's own determination and investigation-status values.
func TestIncidentCoreVocabularies(t *testing.T) {
	determinations := []string{"blocked", "failed-attempt", "false-positive", "low-value", "successful-attempt", "suspected"}
	statuses := []string{"closed", "new", "open"}
	for _, st := range vigil.Statuses {
		ext := incidentCore(&vigil.Incident{Status: st})
		if d := ext["determination"].(string); !slices.Contains(determinations, d) {
			t.Errorf("status %s: determination %q is not in the extension's list", st, d)
		}
		if s := ext["investigation_status"].(string); !slices.Contains(statuses, s) {
			t.Errorf("status %s: investigation_status %q is not in the extension's list", st, s)
		}
	}
}
