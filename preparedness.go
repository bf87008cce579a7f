package vigil

import (
	"context"
	"time"
)

// RecoveryCheck is one run of the platform's own recovery capability: a
// backup written, or a backup restored into a scratch place and checked.
type RecoveryCheck struct {
	ID     int64     `json:"id"`
	Kind   string    `json:"kind"` // RecoveryBackup or RecoveryRestoreTest
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	File   string    `json:"file"`
	Size   int64     `json:"size"`
	Detail string    `json:"detail"` // what was checked, or what failed
}

// The kinds of recovery check.
const (
	RecoveryBackup      = "backup"
	RecoveryRestoreTest = "restore_test"
)

// RecoveryService records backups and restore tests.
type RecoveryService interface {
	RecordRecoveryCheck(ctx context.Context, c *RecoveryCheck) error
	// LastRecoveryChecks returns the latest check of each kind (absent
	// kinds are missing from the map) and the latest successful one.
	LastRecoveryChecks(ctx context.Context) (last, lastOK map[string]*RecoveryCheck, err error)
}

// Readiness thresholds the preparedness page holds the organisation to.
const (
	BackupMaxAge      = 7 * 24 * time.Hour   // a week without a backup is a finding
	RestoreTestMaxAge = 90 * 24 * time.Hour  // a quarter without a tested restore
	ContactMaxAge     = 180 * 24 * time.Hour // contacts confirmed twice a year
	ExerciseMaxAge    = 365 * 24 * time.Hour // each plan exercised once a year
)
