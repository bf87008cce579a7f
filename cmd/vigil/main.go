// Command vigil is Vigil: one binary that serves the API and UI and carries
// the administration commands. Run "vigil serve" to start on the embedded
// SQLite store in ./vigil-data.
package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // --timezone works on machines without a zone database

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/blob"
	"github.com/vigil-ir/vigil/internal/sqlstore"
	"github.com/vigil-ir/vigil/postgres"
	"github.com/vigil-ir/vigil/sqlite"
)

func main() {
	tuneGC(os.Getenv)
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ee exitError
		if !errors.Is(err, flag.ErrHelp) && !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "vigil:", err)
		}
		os.Exit(exitCode(err))
	}
}

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// Vigil's live heap is a few MB and nearly everything a request allocates
// dies with it: at Go's default (100) the collector ran dozens of times a
// second under load. At 400 it runs a quarter as often for ~15-55 MB more
// memory: saturated incident creates ~+9 %, alert intake ~+13 % (see
// docs/benchmarks.md).
const gcPercent = 400

// tuneGC sets the collector's target to gcPercent when GOGC is not set.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// exitError carries an exit status other than 1.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// Config is the configuration shared by the commands that open the store.
// Every flag can also be set as VIGIL_<FLAG> in the environment (dashes
// become underscores), and secrets as VIGIL_<FLAG>_FILE naming a file.
type Config struct {
	Data     string // data folder for the SQLite store
	Database string // postgres://… selects PostgreSQL; empty means SQLite in Data
	// Evidence is the folder of the evidence files; empty means
	// "evidence" in Data. Instances sharing a PostgreSQL share it too.
	Evidence         string
	MaxEvidenceBytes int64
	// OutboundAllow lists the internal networks and hosts that channels
	// and feeds may reach; all others internal are refused.
	OutboundAllow vigil.OutboundAllow
	LogLevel      string
	LogFormat     string
	// Anchor says where the key that signs checkpoints of the audit and
	// custody logs is, and where the checkpoints go (see anchor.go).
	Anchor AnchorConfig
}

// storeFlags registers the store flags on fs.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", "./vigil-data", "data folder for the embedded SQLite store")
	fs.StringVar(&c.Database, "database", "", "PostgreSQL URL (postgres://…) instead of the embedded store; also VIGIL_DATABASE_URL")
	fs.StringVar(&c.Database, "database-url", "", "same as -database")
	fs.StringVar(&c.Evidence, "evidence", "", "folder of the evidence files (default: evidence in -data); instances sharing a PostgreSQL database must share it")
	fs.Int64Var(&c.MaxEvidenceBytes, "evidence-max-bytes", vigil.DefaultMaxEvidenceBytes, "largest evidence file accepted, in bytes")
	fs.TextVar(&c.OutboundAllow, "outbound-allow", vigil.OutboundAllow{}, "internal networks, addresses and host names that channels, feeds and single sign-on providers may reach, comma-separated (such as 10.0.0.0/8,siem.internal); others on loopback, private or link-local addresses are refused")
	// The key that opens the secrets in the database is found where serve
	// finds it (see secretBox).
	c.anchorFlags(fs)
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
}

// options are the ff options of every command: flags first, then VIGIL_*
// environment variables.
var options = []ff.Option{ff.WithEnvVarPrefix("VIGIL")}

// secretFromEnv reads name from the environment, or from the file named by
// name_FILE (for container secrets).
func secretFromEnv(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	if path := os.Getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read %s_FILE: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// logger builds the logger from the config.
func (c *Config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format must be text or json, not %q", c.LogFormat)
}

// Store is an open store of either engine.
type Store struct {
	*sqlstore.DB
	SQLite   *sqlite.DB   // set for the embedded store
	Postgres *postgres.DB // set for PostgreSQL
}

// Close closes the store (for SQLite, with its checkpoints).
func (s *Store) Close() error {
	if s.SQLite != nil {
		return s.SQLite.Close()
	}
	return s.DB.Close()
}

// Engine names the engine.
func (s *Store) Engine() string {
	if s.SQLite != nil {
		return "sqlite"
	}
	return "postgres"
}

// openStore opens (and migrates) the configured store, with its evidence folder.
func (c *Config) openStore(ctx context.Context) (*Store, error) {
	s, err := c.openDB(ctx)
	if err != nil {
		return nil, err
	}
	dir := c.Evidence
	if dir == "" {
		dir = filepath.Join(c.Data, "evidence")
	}
	if s.Blobs, err = blob.Open(dir); err != nil {
		s.Close()
		return nil, err
	}
	s.MaxEvidenceBytes = c.MaxEvidenceBytes
	s.OutboundAllow = c.OutboundAllow
	// The secrets in the database open with the instance key, if there is
	// one yet (serve makes it; see Main.Run).
	if s.Secrets, _, err = c.secretBox(false); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// secretBox returns the box that seals the secrets in the database, with
// a key derived from the anchor key (one key file to keep and back up; the
// derivation keeps the two uses apart). With create, a missing key file at
// the default place is made (its path returned as created); without, no
// key is no box.
func (c *Config) secretBox(create bool) (box *sqlstore.SecretBox, created string, err error) {
	key, created, err := c.anchorKey(create)
	if !create && errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	k, err := hkdf.Key(sha256.New, key.Seed(), nil, "vigil secrets at rest v1", 32)
	if err != nil {
		return nil, "", err
	}
	box, err = sqlstore.NewSecretBox(k)
	return box, created, err
}

func (c *Config) openDB(ctx context.Context) (*Store, error) {
	if c.Database == "" {
		url, err := secretFromEnv("VIGIL_DATABASE_URL")
		if err != nil {
			return nil, err
		}
		c.Database = url
	}
	if strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://") {
		db, err := postgres.Open(ctx, c.Database)
		if err != nil {
			return nil, err
		}
		return &Store{DB: db.DB, Postgres: db}, nil
	}
	if c.Database != "" {
		return nil, fmt.Errorf("-database must be a postgres:// URL; leave it empty for the embedded store in -data")
	}
	db, err := sqlite.Open(ctx, filepath.Join(c.Data, sqlite.FileName))
	if err != nil {
		return nil, err
	}
	return &Store{DB: db.DB, SQLite: db}, nil
}

// cliContext is the context for administration commands: they act as the
// system, recorded in the audit log as "cli".
func cliContext(ctx context.Context) context.Context {
	return vigil.NewContextWithActor(ctx, vigil.SystemActor("cli"))
}

// run parses args and runs the chosen command.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := &ffcli.Command{
		Name:       "vigil",
		ShortUsage: "vigil <command> [flags]",
		ShortHelp:  "Vigil, the cyber security incident management platform.",
		LongHelp:   "Run \"vigil serve\" to start. Every flag can also be set as VIGIL_<FLAG> in the environment.",
		FlagSet:    flag.NewFlagSet("vigil", flag.ContinueOnError),
		Exec:       func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{
			serveCommand(stdout, stderr),
			migrateCommand(stdout, stderr),
			userCommand(stdin, stdout, stderr),
			orgCommand(stdout),
			tokenCommand(stdout, stderr),
			integrationCommand(stdout, stderr),
			backupCommand(stdout, stderr),
			restoreCommand(stdout, stderr),
			auditCommand(stdout, stderr),
			evidenceCommand(stdout, stderr),
			anchorCommand(stdout, stderr),
			stixCommand(stdout, stderr),
			taxiiCommand(stdout, stderr),
			seedCommand(stdout, stderr),
			benchCommand(stdout, stderr),
			{
				Name: "version", ShortUsage: "vigil version", ShortHelp: "Print the version.",
				FlagSet: flag.NewFlagSet("version", flag.ContinueOnError),
				Exec: func(context.Context, []string) error {
					fmt.Fprintln(stdout, "vigil", vigil.Version)
					return nil
				},
			},
		},
	}
	for _, c := range root.Subcommands {
		c.FlagSet.SetOutput(stderr)
		for _, sc := range c.Subcommands {
			sc.FlagSet.SetOutput(stderr)
		}
	}
	root.FlagSet.SetOutput(stderr)
	return root.ParseAndRun(ctx, args)
}

// createPrivate creates or truncates a file for writing, owner-only.
func createPrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}

// withStore opens the store, runs fn, and closes the store.
func withStore(ctx context.Context, cfg *Config, fn func(*Store) error) error {
	s, err := cfg.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}
