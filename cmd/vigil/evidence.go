package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
	"github.com/vigil-ir/vigil/evidence"
)

func evidenceCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	cfg.storeFlags(fs)
	anchors := &anchorVerify{cfg: &cfg}
	anchors.verifyFlags(fs)
	verify := &ffcli.Command{
		Name: "verify", ShortUsage: "vigil evidence verify [flags]",
		ShortHelp: "Hash every evidence file again and check every chain of custody; exit status 1 if anything is wrong.",
		LongHelp: "Each result is recorded in the evidence's custody log and shown on its page. " +
			"Run it on a schedule (cron, a systemd timer) to find a changed or lost file before anyone needs it. " +
			"The custody logs are also checked against the signed checkpoints (see docs/operations.md), read from -anchors " +
			"(by default " + anchor.LogFileName + " beside the anchor key).",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				n, bad := 0, 0
				err := s.Services().Evidence.VerifyAllEvidence(cliContext(ctx), func(c *vigil.EvidenceCheck) {
					n++
					if c.Result != vigil.IntegrityOK {
						bad++
						fmt.Fprintf(stdout, "%s  evidence %d (%s, incident %d): %s\n", c.Result, c.Evidence.ID, c.Evidence.Name, c.Evidence.IncidentID, c.Problem)
					}
				})
				if err != nil {
					return describe(err)
				}
				if bad > 0 {
					fmt.Fprintf(stdout, "FAILED: %d of %d evidence files did not verify.\n", bad, n)
				} else {
					fmt.Fprintf(stdout, "OK: %d evidence files match their hashes; their custody logs are intact.\n", n)
				}
				anchored, err := anchors.check(cliContext(ctx), stdout, s.Services().Anchors, vigil.ChainCustody)
				if err != nil {
					return err
				}
				if bad > 0 || !anchored {
					return exitError{code: 1}
				}
				return nil
			})
		},
	}
	pkg := &ffcli.Command{
		Name: "verify-package", ShortUsage: "vigil evidence verify-package FILE.zip",
		ShortHelp: "Check an evidence package offline: every file against its hashes, every custody chain, nothing unlisted.",
		FlagSet:   flag.NewFlagSet("evidence verify-package", flag.ContinueOnError),
		Exec: func(_ context.Context, args []string) error {
			if len(args) != 1 {
				return flag.ErrHelp
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			rep, err := evidence.Verify(f, st.Size())
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			m := rep.Manifest
			fmt.Fprintf(stdout, "Evidence package for %s (%s), made by %s at %s\n", m.Incident.Reference, m.Incident.Title, m.CreatedBy, m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
			for i, c := range rep.Checks {
				e := m.Items[i].Evidence
				if c.OK {
					fmt.Fprintf(stdout, "OK      %s  %s (%s)\n", c.Path, e.SHA256, vigil.FormatBytes(e.Size))
				} else {
					fmt.Fprintf(stdout, "FAILED  %s: %s\n", c.Path, c.Problem)
				}
			}
			for _, p := range rep.Problems {
				fmt.Fprintf(stdout, "FAILED  %s\n", p)
			}
			if !rep.OK() {
				return exitError{code: 1}
			}
			fmt.Fprintf(stdout, "OK: %d files match their hashes; their custody logs are intact.\n", len(rep.Checks))
			return nil
		},
	}
	return &ffcli.Command{
		Name: "evidence", ShortUsage: "vigil evidence verify | verify-package FILE.zip", ShortHelp: "Check evidence files and evidence packages.",
		FlagSet:     flag.NewFlagSet("evidence", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{verify, pkg},
	}
}
