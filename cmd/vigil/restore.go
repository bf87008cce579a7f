package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/sqlite"
)

func restoreCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	cfg.storeFlags(fs)
	force := fs.Bool("force", false, "replace an existing database (the old SQLite file is kept beside it)")
	return &ffcli.Command{
		Name: "restore", ShortUsage: "vigil restore [flags] FILE", ShortHelp: "Restore a backup made by vigil backup. Stop the server first.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give the backup file to restore")
			}
			if cfg.Database == "" {
				cfg.Database, _ = secretFromEnv("VIGIL_DATABASE_URL")
			}
			m, err := Restore(ctx, &cfg, args[0], *force)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Restored the backup of %s (%s store, schema %d, %d evidence files).\n",
				m.CreatedAt.Format(time.RFC3339), m.Engine, m.SchemaVersion, len(m.Files)-1-len(m.Skipped))
			for _, sum := range m.Skipped {
				fmt.Fprintf(stdout, "WARNING: evidence file %s did not match its checksum and was left out; vigil evidence verify names the evidence.\n", sum)
			}
			return nil
		},
	}
}

// Restore checks a backup completely (format, checksums, database
// integrity) before it replaces anything.
func Restore(ctx context.Context, cfg *Config, path string, force bool) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Vigil backup: %w", path, err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName {
		return nil, fmt.Errorf("%s is not a Vigil backup: no manifest", path)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil || m.Format != backupFormat || len(m.Files) == 0 {
		return nil, fmt.Errorf("%s is not a Vigil backup: bad manifest", path)
	}
	if m.Version > backupVersion {
		return nil, fmt.Errorf("this backup is format %d; this Vigil reads up to %d", m.Version, backupVersion)
	}
	isPG := cfg.Database != ""
	switch {
	case m.Engine == "sqlite" && isPG, m.Engine == "postgres" && !isPG:
		return nil, fmt.Errorf("this is a %s backup; restore it into a %s store", m.Engine, m.Engine)
	}
	hdr, err = tr.Next()
	if err != nil || hdr.Name != m.Files[0].Name || filepath.Base(hdr.Name) != hdr.Name {
		return nil, fmt.Errorf("%s is damaged: the database is missing", path)
	}
	dir := cfg.Data
	if isPG {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".vigil-restore-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), tr)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	if n != m.Files[0].Size || hex.EncodeToString(h.Sum(nil)) != m.Files[0].SHA256 {
		return nil, fmt.Errorf("%s is damaged: the database does not match its checksum", path)
	}
	// The evidence files follow the database in the backup. They are
	// content-addressed and each is checked against its name, so adding
	// them harms nothing; still, they go in only once the database is
	// known good and welcome.
	if isPG {
		if err := restoreEvidence(cfg, path, tr, m.Files[1:], &m.Skipped); err != nil {
			return nil, err
		}
		return &m, pgRestore(ctx, cfg.Database, tmp.Name())
	}
	if err := checkSQLite(ctx, tmp.Name()); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", path, err)
	}
	dst := filepath.Join(dir, sqlite.FileName)
	_, statErr := os.Stat(dst)
	if statErr == nil && !force {
		return nil, fmt.Errorf("%s already holds a database; stop the server and use -force to replace it", dir)
	}
	if err := restoreEvidence(cfg, path, tr, m.Files[1:], &m.Skipped); err != nil {
		return nil, err
	}
	if statErr == nil {
		keep := dst + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, keep); err != nil {
			return nil, err
		}
	}
	// The WAL and shared-memory files belong to the old database.
	os.Remove(dst + "-wal")
	os.Remove(dst + "-shm")
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, err
	}
	// Opening migrates a backup from an older Vigil to this schema.
	db, err := sqlite.Open(ctx, dst)
	if err != nil {
		return nil, err
	}
	return &m, db.Close()
}

// restoreEvidence reads the evidence files that follow the database in a
// backup into the evidence folder, each checked against its name.
// A file that does not match its name is left out and listed in skipped:
// one bad evidence file must not stop the restore of everything else.
func restoreEvidence(cfg *Config, path string, tr *tar.Reader, files []ManifestFile, skipped *[]string) error {
	if len(files) == 0 {
		return nil
	}
	dir := cfg.Evidence
	if dir == "" {
		dir = filepath.Join(cfg.Data, "evidence")
	}
	blobs, err := blob.Open(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		hdr, err := tr.Next()
		if err != nil || hdr.Name != f.Name || !evidenceEntry.MatchString(f.Name) || hdr.Size != f.Size {
			return fmt.Errorf("%s is damaged: evidence file %s is missing", path, f.Name)
		}
		// Stored only if the bytes are the ones named: a file changed
		// before it was backed up (vigil evidence verify then reports it
		// missing) or damaged since is left out, and nothing already in
		// the folder is touched.
		if _, err := blobs.PutExpect(tr, f.Size, f.SHA256); errors.Is(err, blob.ErrMismatch) {
			*skipped = append(*skipped, f.SHA256)
		} else if err != nil {
			return fmt.Errorf("%s: evidence file %s: %w", path, f.Name, err)
		}
	}
	return nil
}

// checkSQLite runs SQLite's integrity check on a database file.
func checkSQLite(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return errors.New("integrity check: " + res)
	}
	return nil
}

func pgRestore(ctx context.Context, dbURL, dump string) error {
	args, err := pgArgs(dbURL)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "pg_restore", append([]string{"--clean", "--if-exists", "--single-transaction", "--exit-on-error"}, append(args, dump)...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("restoring PostgreSQL needs pg_restore on the PATH (package postgresql-client)")
		}
		return fmt.Errorf("pg_restore: %w: %s", err, b)
	}
	return nil
}
