package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func integrationCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	newFS := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg.storeFlags(fs)
		return fs
	}

	createFS := newFS("integration create")
	kind := createFS.String("kind", "", "payload format: "+strings.Join(kindNames(), ", ")+" (required)")
	name := createFS.String("name", "", "a name for the tool, such as prod (required)")
	severity := createFS.String("severity", "medium", "severity of alerts that do not say")
	tlp := createFS.String("tlp", "AMBER", "TLP of alerts that do not say")
	incType := createFS.String("type", "other", "incident type of promoted incidents")
	groupBy := createFS.String("group-by", "", "comma-separated grouping keys: fingerprint, title, label:NAME, observable:TYPE")
	window := createFS.Duration("window", vigil.DefaultGroupWindow, "grouping window")
	promoteSev := createFS.String("promote-severity", "", "promote groups with an alert of this severity or higher (empty: off)")
	promoteCount := createFS.Int("promote-count", 0, "promote groups that reach this many alerts (0: off)")
	mappingFile := createFS.String("mapping", "", "JSON file with the field mapping (elastic and generic kinds)")
	dedup := createFS.String("dedup-keys", "", "comma-separated dedup keys for tools without fingerprints")
	baseURL := createFS.String("url", "http://127.0.0.1:8080", "the server's public base URL, for the printed intake URL")
	create := &ffcli.Command{
		Name: "create", ShortUsage: "vigil integration create -kind KIND -name NAME [flags]",
		ShortHelp: "Create an integration and print its intake URL and token (shown once).",
		FlagSet:   createFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			in := &vigil.Integration{Name: *name, Kind: vigil.IntegrationKind(*kind), DefaultSeverity: vigil.Severity(*severity),
				DefaultTLP: vigil.TLP(*tlp), DefaultType: vigil.IncidentType(*incType), DedupKeys: splitList(*dedup),
				Grouping:  vigil.GroupingRule{By: splitList(*groupBy), Window: vigil.Duration(*window)},
				Promotion: vigil.PromotionRule{MinSeverity: vigil.Severity(*promoteSev), Count: *promoteCount}}
			if *mappingFile != "" {
				b, err := os.ReadFile(*mappingFile)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &in.Mapping); err != nil {
					return fmt.Errorf("-mapping %s: %w", *mappingFile, err)
				}
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				token, err := s.Services().Integrations.CreateIntegration(cliContext(ctx), in)
				if err != nil {
					return describe(err)
				}
				url, withToken := vigilhttp.IntakeURLs(*baseURL, in.Kind, token)
				fmt.Fprintf(stderr, "Created integration %d (%s, %s). The token is shown once.\n", in.ID, in.Name, in.Kind)
				fmt.Fprintf(stdout, "url: %s\ntoken: %s\nurl_with_token: %s\n", url, token, withToken)
				fmt.Fprintf(stderr, "\nPost with the header \"Authorization: Bearer <token>\", or to url_with_token for tools that cannot set headers.\n")
				return nil
			})
		},
	}

	list := &ffcli.Command{
		Name: "list", ShortUsage: "vigil integration list", ShortHelp: "List integrations.", FlagSet: newFS("integration list"), Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				list, err := s.Services().Integrations.FindIntegrations(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tKIND\tTOKEN\tSTATUS\tCREATED")
				for _, in := range list {
					status := "enabled"
					if in.Disabled {
						status = "disabled"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\n", in.ID, in.Name, in.Kind, in.TokenHint, status, in.CreatedAt.Format(time.DateOnly))
				}
				return tw.Flush()
			})
		},
	}

	rotateFS := newFS("integration rotate")
	rotateURL := rotateFS.String("url", "http://127.0.0.1:8080", "the server's public base URL")
	rotate := &ffcli.Command{
		Name: "rotate", ShortUsage: "vigil integration rotate ID", ShortHelp: "Replace an integration's token and print the new one.",
		FlagSet: rotateFS, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			id, err := oneID(args)
			if err != nil {
				return err
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				token, err := s.Services().Integrations.RotateIntegrationToken(ctx, id)
				if err != nil {
					return describe(err)
				}
				in, err := s.Services().Integrations.FindIntegrationByID(ctx, id)
				if err != nil {
					return describe(err)
				}
				url, withToken := vigilhttp.IntakeURLs(*rotateURL, in.Kind, token)
				fmt.Fprintf(stdout, "url: %s\ntoken: %s\nurl_with_token: %s\n", url, token, withToken)
				return nil
			})
		},
	}

	setDisabled := func(cmd string, disabled bool) *ffcli.Command {
		return &ffcli.Command{
			Name: cmd, ShortUsage: "vigil integration " + cmd + " ID", ShortHelp: strings.ToUpper(cmd[:1]) + cmd[1:] + " an integration.",
			FlagSet: newFS("integration " + cmd), Options: options,
			Exec: func(ctx context.Context, args []string) error {
				id, err := oneID(args)
				if err != nil {
					return err
				}
				return withStore(ctx, &cfg, func(s *Store) error {
					_, err := s.Services().Integrations.UpdateIntegration(cliContext(ctx), id, vigil.IntegrationUpdate{Disabled: &disabled})
					return describe(err)
				})
			},
		}
	}

	return &ffcli.Command{
		Name: "integration", ShortUsage: "vigil integration <create|list|rotate|disable|enable> [flags]",
		ShortHelp:   "Manage the monitoring tools that post alerts.",
		FlagSet:     flag.NewFlagSet("integration", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{create, list, rotate, setDisabled("disable", true), setDisabled("enable", false)},
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
	}
}

func kindNames() []string {
	out := make([]string, len(vigil.IntegrationKinds))
	for i, k := range vigil.IntegrationKinds {
		out[i] = string(k)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func oneID(args []string) (int64, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("give one integration ID")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integration ID", args[0])
	}
	return id, nil
}
