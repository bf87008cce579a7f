package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
)

func auditCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.storeFlags(fs)
	anchors := &anchorVerify{cfg: &cfg}
	anchors.verifyFlags(fs)
	verify := &ffcli.Command{
		Name: "verify", ShortUsage: "vigil audit verify [flags]",
		ShortHelp: "Recompute the audit log's hash chain and check it against the signed checkpoints; exit status 1 names the first broken event.",
		LongHelp: "The checkpoints (see docs/operations.md) show events deleted from the end of the log with its head rewritten to match, " +
			"which the chain alone cannot show. They are read from -anchors (by default " + anchor.LogFileName + " beside the anchor key).",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				v, err := s.Services().Audit.VerifyAudit(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				if !v.OK {
					fmt.Fprintf(stdout, "BROKEN at event %d: %s\nChecked %d events before the break.\n", v.BadSeq, v.Problem, v.Checked)
				} else {
					fmt.Fprintf(stdout, "OK: %d events, hash chain intact (head %d).\n", v.Checked, v.HeadSeq)
				}
				anchored, err := anchors.check(cliContext(ctx), stdout, s.Services().Anchors, vigil.ChainAudit)
				if err != nil {
					return err
				}
				if !v.OK || !anchored {
					return exitError{code: 1}
				}
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
