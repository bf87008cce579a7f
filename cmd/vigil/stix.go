package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func stixCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("stix export", flag.ContinueOnError)
	cfg.storeFlags(fs)
	out := fs.String("o", "", "write the bundle to this file (default: standard output)")
	report := fs.Bool("report", false, "add a report object listing the bundle's objects")
	maxTLP := fs.String("max-tlp", "", "leave out observables marked above this TLP (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)")
	export := &ffcli.Command{
		Name: "export", ShortUsage: "vigil stix export [flags] INC-2026-000123|ID", ShortHelp: "Write an incident as a STIX 2.1 bundle.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return flag.ErrHelp
			}
			var tlp vigil.TLP
			if *maxTLP != "" {
				t, ok := vigil.ParseTLP(*maxTLP)
				if !ok {
					return fmt.Errorf("-max-tlp: %q is not a TLP label", *maxTLP)
				}
				tlp = t
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				svc := s.Services()
				cctx := cliContext(ctx)
				var inc *vigil.Incident
				var err error
				if id, perr := strconv.ParseInt(args[0], 10, 64); perr == nil {
					inc, err = svc.Incidents.FindIncidentByID(cctx, id)
				} else {
					inc, err = svc.Incidents.FindIncidentByReference(cctx, strings.ToUpper(args[0]))
				}
				if err != nil {
					return describe(err)
				}
				b, err := vigilhttp.ExportSTIX(cctx, svc, inc.ID, *report, tlp)
				if err != nil {
					return describe(err)
				}
				w := stdout
				if *out != "" {
					f, err := createPrivate(*out)
					if err != nil {
						return err
					}
					defer f.Close()
					w = f
				}
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				if err := enc.Encode(b); err != nil {
					return err
				}
				if *out != "" {
					fmt.Fprintf(stderr, "Wrote %s: %d STIX objects.\n", *out, len(b.Objects))
				}
				return nil
			})
		},
	}
	return &ffcli.Command{
		Name: "stix", ShortUsage: "vigil stix export|import …", ShortHelp: "Share incidents as STIX 2.1.",
		FlagSet:     flag.NewFlagSet("stix", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{export, stixImportCommand(stdout, stderr)},
	}
}
