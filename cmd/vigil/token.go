package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
)

func tokenCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	newFS := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg.storeFlags(fs)
		return fs
	}
	findUser := func(ctx context.Context, s *Store, username string) (*vigil.User, error) {
		if username == "" {
			return nil, fmt.Errorf("-user is required")
		}
		u, err := s.Services().Users.FindUserByUsername(ctx, username)
		return u, describe(err)
	}

	createFS := newFS("token create")
	user := createFS.String("user", "", "the user the token acts as (required)")
	name := createFS.String("name", "", "what the token is for (required)")
	scopes := createFS.String("scopes", "read,write", "comma-separated scopes: read, write, admin")
	expires := createFS.Duration("expires", 0, "lifetime, such as 2160h for 90 days; 0 for no expiry")
	create := &ffcli.Command{
		Name: "create", ShortUsage: "vigil token create -user USERNAME -name NAME [flags]", ShortHelp: "Create an API token and print its secret once.",
		FlagSet: createFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				u, err := findUser(ctx, s, *user)
				if err != nil {
					return err
				}
				t := &vigil.Token{Name: *name}
				for _, sc := range strings.Split(*scopes, ",") {
					if sc = strings.TrimSpace(sc); sc != "" {
						t.Scopes = append(t.Scopes, vigil.Scope(sc))
					}
				}
				if *expires > 0 {
					e := time.Now().Add(*expires)
					t.ExpiresAt = &e
				}
				secret, err := s.Services().Auth.CreateToken(ctx, u.ID, t)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(stderr, "Created token %d for %s. The secret is shown once:\n", t.ID, u.Username)
				fmt.Fprintln(stdout, secret)
				return nil
			})
		},
	}

	listFS := newFS("token list")
	listUser := listFS.String("user", "", "whose tokens (required)")
	list := &ffcli.Command{
		Name: "list", ShortUsage: "vigil token list -user USERNAME", ShortHelp: "List a user's tokens.", FlagSet: listFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				u, err := findUser(ctx, s, *listUser)
				if err != nil {
					return err
				}
				tokens, err := s.Services().Auth.FindTokens(ctx, u.ID)
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tEXPIRES\tLAST USED\tSTATUS")
				for _, t := range tokens {
					status := "live"
					if t.RevokedAt != nil {
						status = "revoked"
					} else if t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()) {
						status = "expired"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, joinScopes(t.Scopes), fmtTime(t.ExpiresAt), fmtTime(t.LastUsedAt), status)
				}
				return tw.Flush()
			})
		},
	}

	revoke := &ffcli.Command{
		Name: "revoke", ShortUsage: "vigil token revoke ID", ShortHelp: "Revoke a token.", FlagSet: newFS("token revoke"), Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one token ID")
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("token ID must be a number")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				if err := s.Services().Auth.RevokeToken(cliContext(ctx), id); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "Token %d revoked.\n", id)
				return nil
			})
		},
	}
	return &ffcli.Command{
		Name: "token", ShortUsage: "vigil token <create|list|revoke>", ShortHelp: "Manage API tokens.",
		FlagSet:     flag.NewFlagSet("token", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{create, list, revoke},
	}
}

func joinScopes(ss []vigil.Scope) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
