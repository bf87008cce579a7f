package casework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/stix"
)

// PrepareSighting builds the STIX objects that share a hit's sighting, as
// the actor in ctx sees the hit: for showing (objs) and for adding to a
// collection (in). A hit marked above TLP:AMBER is EFORBIDDEN.
func PrepareSighting(ctx context.Context, svc vigil.Services, id int64) (objs []stix.Object, in []*vigil.IncomingObject, err error) {
	h, err := svc.IOC.FindHit(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	profile, err := svc.Duties.FindProfile(ctx)
	if err != nil {
		return nil, nil, err
	}
	objs, err = stix.Sighting(profile.Name, h)
	if errors.Is(err, stix.ErrStaysInside) {
		return nil, nil, vigil.Errorf(vigil.EFORBIDDEN, "The indicator or what it was seen in is marked above TLP:AMBER: its sighting stays in the organisation.")
	} else if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		raw, _ := json.Marshal(o)
		info, err := stix.Check(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("sighting object %s: %w", o.ID(), err)
		}
		in = append(in, &vigil.IncomingObject{Raw: raw, ID: info.ID, Type: info.Type, SpecVersion: info.SpecVersion, Version: info.Version, TLP: info.TLP})
	}
	return objs, in, nil
}
