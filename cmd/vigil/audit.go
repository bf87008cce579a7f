package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func auditCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.storeFlags(fs)
	verify := &ffcli.Command{
		Name: "verify", ShortUsage: "vigil audit verify", ShortHelp: "Recompute the audit log's hash chain; exit status 1 names the first broken event.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				v, err := s.Services().Audit.VerifyAudit(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				if !v.OK {
					fmt.Fprintf(stdout, "BROKEN at event %d: %s\nChecked %d events before the break.\n", v.BadSeq, v.Problem, v.Checked)
					return exitError{code: 1}
				}
				fmt.Fprintf(stdout, "OK: %d events, hash chain intact (head %d).\n", v.Checked, v.HeadSeq)
				return nil
			})
		},
	}
	return &ffcli.Command{
		Name: "audit", ShortUsage: "vigil audit verify", ShortHelp: "Check the audit log.",
		FlagSet:     flag.NewFlagSet("audit", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{verify},
	}
}
