package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/sqlite"
)

// A backup is a gzipped tar holding manifest.json, the database (for
// SQLite a copy of the database file made with VACUUM INTO, for PostgreSQL
// a pg_dump archive: both consistent snapshots taken while the server keeps
// running) and, from version 2, the evidence files, under
// evidence/sha256/ab/cdef…. The files are listed after the snapshot is
// taken: they are written before the rows that name them and never
// changed, so every file the snapshot names is there.
const (
	backupFormat   = "vigil-backup"
	backupVersion  = 2
	manifestName   = "manifest.json"
	pgDumpFileName = "vigil.pgdump"
)

// Manifest describes a backup.
type Manifest struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	CreatedAt     time.Time      `json:"created_at"`
	VigilVersion  string         `json:"vigil_version"`
	Engine        string         `json:"engine"`
	SchemaVersion int64          `json:"schema_version"`
	Files         []ManifestFile `json:"files"`
	// Skipped lists, after a restore, the evidence files (by SHA-256)
	// left out because they did not match their checksums.
	Skipped []string `json:"-"`
}

// ManifestFile is one file in a backup, with its size and SHA-256.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func backupCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	cfg.storeFlags(fs)
	verify := fs.Bool("verify", false, "then restore the backup into a scratch place and check it (a tested restore)")
	return &ffcli.Command{
		Name: "backup", ShortUsage: "vigil backup [-verify] [flags] FILE", ShortHelp: "Write a consistent backup of the running store to FILE.",
		LongHelp: "The server may keep running: the backup is one snapshot of the database and the evidence files. Keep backups off this machine. " +
			"With -verify the backup is restored into a scratch folder (SQLite) or a scratch database (PostgreSQL) and checked: checksums, " +
			"database integrity, schema, the audit chain and every evidence file. Each backup and tested restore is recorded and shown on the preparedness page.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give the backup file to write")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				rec := s.Services().Recovery
				m, err := Backup(ctx, s, args[0])
				if err != nil {
					_ = rec.RecordRecoveryCheck(cliContext(ctx), &vigil.RecoveryCheck{Kind: vigil.RecoveryBackup, File: args[0], Detail: err.Error()})
					return err
				}
				size := int64(0)
				if st, err := os.Stat(args[0]); err == nil {
					size = st.Size()
				}
				if err := rec.RecordRecoveryCheck(cliContext(ctx), &vigil.RecoveryCheck{Kind: vigil.RecoveryBackup, OK: true, File: args[0], Size: size,
					Detail: fmt.Sprintf("%s store, schema %d, %d evidence files", m.Engine, m.SchemaVersion, len(m.Files)-1)}); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Backed up the %s store (schema %d) to %s: %s, SHA-256 %s, and %d evidence files.\n",
					m.Engine, m.SchemaVersion, args[0], byteSize(m.Files[0].Size), m.Files[0].SHA256, len(m.Files)-1)
				if !*verify {
					return nil
				}
				detail, verr := VerifyBackup(ctx, s, args[0])
				c := &vigil.RecoveryCheck{Kind: vigil.RecoveryRestoreTest, OK: verr == nil, File: args[0], Size: size, Detail: detail}
				if verr != nil {
					c.Detail = verr.Error()
				}
				if err := rec.RecordRecoveryCheck(cliContext(ctx), c); err != nil {
					return err
				}
				if verr != nil {
					fmt.Fprintf(stdout, "RESTORE TEST FAILED: %v\n", verr)
					return exitError{code: 1}
				}
				fmt.Fprintf(stdout, "Restore test passed: %s.\n", detail)
				return nil
			})
		},
	}
}

// VerifyBackup restores the backup at path into a scratch place and checks
// what it holds: Restore checks the checksums, the database's integrity
// and brings its schema up to date; then the audit chain is recomputed and
// every evidence file hashed again. The scratch place is removed after.
func VerifyBackup(ctx context.Context, live *Store, path string) (string, error) {
	scratch, err := os.MkdirTemp("", "vigil-restore-test-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	cfg := &Config{Data: scratch}
	if live.Postgres != nil {
		url, drop, err := scratchDatabase(ctx, live)
		if err != nil {
			return "", err
		}
		defer drop()
		cfg.Database = url
	}
	m, err := Restore(ctx, cfg, path, false)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	s, err := cfg.openStore(ctx)
	if err != nil {
		return "", fmt.Errorf("open the restored store: %w", err)
	}
	defer s.Close()
	sys := cliContext(ctx)
	v, err := s.Services().Audit.VerifyAudit(sys)
	if err != nil {
		return "", fmt.Errorf("audit chain: %w", err)
	}
	if !v.OK {
		return "", fmt.Errorf("the restored audit chain breaks at event %d: %s", v.BadSeq, v.Problem)
	}
	count, err := s.Services().Incidents.CountIncidents(sys, vigil.IncidentFilter{})
	if err != nil {
		return "", err
	}
	var checked, bad int
	if err := s.Services().Evidence.VerifyAllEvidence(sys, func(c *vigil.EvidenceCheck) {
		checked++
		if c.Result != vigil.IntegrityOK {
			bad++
		}
	}); err != nil {
		return "", err
	}
	if bad > 0 || len(m.Skipped) > 0 {
		return "", fmt.Errorf("%d of %d evidence files in the backup do not verify", bad, checked)
	}
	return fmt.Sprintf("restored into a scratch %s store: schema %d, %d incidents, audit chain of %d events intact, %d evidence files verified",
		m.Engine, m.SchemaVersion, count, v.Checked, checked), nil
}

// Backup writes a backup of s to path, which must not exist.
func Backup(ctx context.Context, s *Store, path string) (*Manifest, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s already exists; choose a new file", path)
	}
	schema, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	tmpDir, err := os.MkdirTemp(filepath.Dir(path), ".vigil-backup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	var name, snapshot string
	switch s.Engine() {
	case "sqlite":
		name, snapshot = sqlite.FileName, filepath.Join(tmpDir, sqlite.FileName)
		if err := s.SQLite.Backup(ctx, snapshot); err != nil {
			return nil, err
		}
	case "postgres":
		name, snapshot = pgDumpFileName, filepath.Join(tmpDir, pgDumpFileName)
		if err := pgDump(ctx, s.Postgres.URL, snapshot); err != nil {
			return nil, err
		}
	}
	sum, size, err := hashFile(snapshot)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: backupFormat, Version: backupVersion, CreatedAt: time.Now().UTC(), VigilVersion: vigil.Version,
		Engine: s.Engine(), SchemaVersion: schema, Files: []ManifestFile{{Name: name, Size: size, SHA256: sum}}}
	var blobs []string // their paths, in the order of m.Files[1:]
	if dir, ok := s.Blobs.(*blob.Dir); ok {
		err := filepath.WalkDir(filepath.Join(dir.Root(), "sha256"), func(p string, d os.DirEntry, err error) error {
			if d == nil && errors.Is(err, fs.ErrNotExist) {
				return nil // no evidence stored yet: the folder is made with the first file
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir.Root(), p)
			name := filepath.ToSlash(filepath.Join("evidence", rel))
			if !evidenceEntry.MatchString(name) {
				return nil // not the store's
			}
			st, err := d.Info()
			if err != nil {
				return err
			}
			// The name is the SHA-256: a file changed since is caught
			// by vigil evidence verify, and by restore.
			m.Files = append(m.Files, ManifestFile{Name: name, Size: st.Size(), SHA256: strings.ReplaceAll(strings.TrimPrefix(name, "evidence/sha256/"), "/", "")})
			blobs = append(blobs, p)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list the evidence files: %w", err)
		}
	}
	// Write beside the target and rename, so a failed backup never leaves a
	// file that looks complete.
	part := path + ".part"
	if err := writeBackup(part, m, append([]string{snapshot}, blobs...)); err != nil {
		os.Remove(part)
		return nil, err
	}
	if err := os.Rename(part, path); err != nil {
		return nil, err
	}
	return m, nil
}

// evidenceEntry is the name of an evidence file in a backup.
var evidenceEntry = regexp.MustCompile(`^evidence/sha256/[0-9a-f]{2}/[0-9a-f]{62}$`)

// writeBackup writes the manifest and then files[i] as m.Files[i].
func writeBackup(path string, m *Manifest, files []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mj)), ModTime: m.CreatedAt}); err != nil {
		return err
	}
	if _, err := tw.Write(mj); err != nil {
		return err
	}
	for i, p := range files {
		if err := writeTarFile(tw, p, m.Files[i], m.CreatedAt); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

func writeTarFile(tw *tar.Writer, path string, f ManifestFile, at time.Time) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: at}); err != nil {
		return err
	}
	// Exactly the size listed: a file that changed size is an error, not
	// a tar that cannot be read back.
	if n, err := io.Copy(tw, io.LimitReader(in, f.Size)); err != nil {
		return err
	} else if n != f.Size {
		return fmt.Errorf("%s shrank while it was backed up", path)
	}
	return nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// pgArgs turns a Vigil database URL into pg_dump/pg_restore arguments: libpq
// does not know the search_path parameter that pgx takes, so a schema
// given that way becomes --schema.
func pgArgs(dbURL string) ([]string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	var args []string
	if sp := q.Get("search_path"); sp != "" {
		args = append(args, "--schema="+sp)
		q.Del("search_path")
		u.RawQuery = q.Encode()
	}
	return append(args, "--no-owner", "--dbname="+u.String()), nil
}

func pgDump(ctx context.Context, dbURL, out string) error {
	args, err := pgArgs(dbURL)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pg_dump", append([]string{"--format=custom", "--file=" + out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("backing up PostgreSQL needs pg_dump on the PATH (package postgresql-client)")
		}
		return fmt.Errorf("pg_dump: %w: %s", err, b)
	}
	return nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// scratchDatabase creates an empty database beside the live one for a
// restore test and returns its URL and a function that drops it.
func scratchDatabase(ctx context.Context, live *Store) (string, func(), error) {
	u, err := url.Parse(live.Postgres.URL)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := "vigil_restore_test_" + hex.EncodeToString(b[:])
	if _, err := live.Write.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("a restore test needs a scratch database (the user needs CREATEDB): %w", err)
	}
	u.Path = "/" + name
	// pg_restore --schema restores into the schema, not the schema
	// itself: a store in its own schema gets it made first.
	if sp := u.Query().Get("search_path"); sp != "" {
		plain := *u
		q := plain.Query()
		q.Del("search_path")
		plain.RawQuery = q.Encode()
		db, err := sql.Open("pgx", plain.String())
		if err == nil {
			_, err = db.ExecContext(ctx, `CREATE SCHEMA `+quoteIdent(sp))
			db.Close()
		}
		if err != nil {
			live.Write.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name)
			return "", nil, fmt.Errorf("prepare the scratch database: %w", err)
		}
	}
	drop := func() {
		// A fresh context: the scratch database goes even if ctx ended.
		_, _ = live.Write.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
	return u.String(), drop, nil
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
