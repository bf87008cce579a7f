package casework

import (
	"cmp"
	"context"

	"github.com/vigil-ir/vigil"
)

// Profile returns the profile of the organisation inc belongs to: its
// name is the source of what is exported of the incident, and its regimes
// and contacts fill the drafts of the incident's duties. A reader who may
// not read that organisation's profile (the coordinator's staff, seeing a
// member's incident by its grant) gets Vigil's default profile, which
// names nobody.
func Profile(ctx context.Context, duties vigil.DutyService, inc *vigil.Incident) (*vigil.OrgProfile, error) {
	p, err := duties.FindOrgProfile(ctx, cmp.Or(inc.Organisation, vigil.DefaultOrganisationSlug))
	switch vigil.ErrorCode(err) {
	case vigil.ENOTFOUND, vigil.EFORBIDDEN:
		return vigil.DefaultOrgProfile(), nil
	}
	return p, err
}
