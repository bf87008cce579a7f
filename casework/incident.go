package casework

import (
	"context"

	"github.com/vigil-ir/vigil"
)

// IncidentID resolves the {id} of an incident's URL, the same way for the
// API and the pages: a numeric ID, or a reference such as INC-2026-000123
// (ENOTFOUND if there is no such incident the actor may see).
func IncidentID(ctx context.Context, incidents vigil.IncidentService, v string) (int64, error) {
	if !vigil.IsReference(v) {
		return vigil.ParseID(v)
	}
	inc, err := incidents.FindIncidentByReference(ctx, v)
	if err != nil {
		return 0, err
	}
	return inc.ID, nil
}
