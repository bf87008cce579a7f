package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/internal/sqlstore"
)

func seedCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	var o sqlstore.SeedOptions
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	cfg.storeFlags(fs)
	fs.IntVar(&o.Incidents, "incidents", 1000, "synthetic incidents to add")
	fs.IntVar(&o.TimelinePerIncident, "timeline", 10, "timeline entries per incident")
	fs.IntVar(&o.NotesPerIncident, "notes", 3, "of those, notes")
	fs.IntVar(&o.ObservablesPer, "observables", 2, "observables per incident")
	fs.IntVar(&o.Users, "users", 25, "analysts to spread the work over (created as needed)")
	fs.IntVar(&o.Organisations, "organisations", 1, "organisations: more than 1 makes a CERT of the default organisation and members member-0001…, each with a responder m0001…")
	grant := fs.String("grant", "summary", "what the seeded members grant the coordinator: none, summary or full")
	var seed uint64
	fs.Uint64Var(&seed, "seed", 1, "random seed")
	return &ffcli.Command{
		Name: "seed", ShortUsage: "vigil seed [flags]", ShortHelp: "Fill the store with synthetic incidents, for benchmarks and demos.",
		LongHelp: "Rows are bulk-loaded, not written through the services, so they have no audit events. Never run it on a production store.",
		FlagSet:  fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			o.Seed = seed
			o.Grant = vigil.Grant(*grant)
			return withStore(ctx, &cfg, func(s *Store) error {
				start := time.Now()
				last := start
				err := s.Seed(ctx, o, func(done int) {
					if time.Since(last) > 5*time.Second || done == o.Incidents {
						last = time.Now()
						rate := float64(done) / time.Since(start).Seconds()
						fmt.Fprintf(stderr, "seeded %d/%d incidents (%.0f/s)\n", done, o.Incidents, rate)
					}
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "Seeded %d incidents with %d timeline entries and %d observables in %s.\n",
					o.Incidents, o.Incidents*o.TimelinePerIncident, o.Incidents*o.ObservablesPer, time.Since(start).Round(time.Second))
				return nil
			})
		},
	}
}
