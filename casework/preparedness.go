package casework

import (
	"context"
	"time"

	"github.com/vigil-ir/vigil"
)

// Preparedness is where the organisation stands against what the NCSC's
// 10 Steps ask of incident management.
type Preparedness struct {
	Items       []vigil.ReadinessItem `json:"items"`
	OpenActions []*vigil.Action       `json:"open_actions"`
}

// AssessPreparedness gathers what the assessment reads, as the actor may
// see it, and assesses it.
func AssessPreparedness(ctx context.Context, svc vigil.Services, now time.Time) (*Preparedness, error) {
	var in vigil.ReadinessInput
	var err error
	if in.Plans, err = svc.Plans.FindPlans(ctx); err != nil {
		return nil, err
	}
	if in.Contacts, err = svc.Contacts.FindContacts(ctx); err != nil {
		return nil, err
	}
	last, lastOK, err := svc.Recovery.LastRecoveryChecks(ctx)
	if err != nil {
		return nil, err
	}
	in.LastBackup, in.LastBackupOK = last[vigil.RecoveryBackup], lastOK[vigil.RecoveryBackup]
	in.LastRestore, in.LastRestoreOK = last[vigil.RecoveryRestoreTest], lastOK[vigil.RecoveryRestoreTest]
	if in.OpenActions, err = svc.Reviews.FindOpenActions(ctx); err != nil {
		return nil, err
	}
	if svc.Exercises != nil {
		if in.LastExercise, err = svc.Exercises.LastExercised(ctx); err != nil {
			return nil, err
		}
	}
	return &Preparedness{Items: vigil.AssessReadiness(in, now), OpenActions: in.OpenActions}, nil
}
