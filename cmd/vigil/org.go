package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
)

// orgCommand manages organisations (docs/organisations.md).
func orgCommand(stdout io.Writer) *ffcli.Command {
	var cfg Config
	newFS := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg.storeFlags(fs)
		return fs
	}

	createFS := newFS("org create")
	sector := createFS.String("sector", "", "the organisation's sector, such as water or health")
	email := createFS.String("email", "", "the organisation's contact e-mail address")
	phone := createFS.String("phone", "", "the organisation's contact phone number")
	create := &ffcli.Command{
		Name: "create", ShortUsage: "vigil org create [flags] SLUG NAME", ShortHelp: "Create a member organisation.",
		FlagSet: createFS, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("give a slug and a name (quote a name of several words)")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				o := &vigil.Organisation{Slug: args[0], Name: args[1], Kind: vigil.OrgMember, Sector: *sector, ContactEmail: *email, ContactPhone: *phone}
				if err := s.Services().Orgs.CreateOrganisation(cliContext(ctx), o); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "Created %s (%s). Its staff report at /report/%s once it has members: vigil org add-user %s USERNAME.\n",
					o.Slug, o.Name, o.Slug, o.Slug)
				return nil
			})
		},
	}

	list := &ffcli.Command{
		Name: "list", ShortUsage: "vigil org list", ShortHelp: "List organisations.", FlagSet: newFS("org list"), Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				orgs, err := s.Services().Orgs.FindOrganisations(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SLUG\tKIND\tSTATUS\tNAME")
				for _, o := range orgs {
					status := "active"
					if o.SuspendedAt != nil {
						status = "suspended"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Slug, o.Kind, status, o.Name)
				}
				return tw.Flush()
			})
		},
	}

	addFS := newFS("org add-user")
	role := addFS.String("role", "responder", "role in the organisation: admin, manager, responder, viewer or reporter")
	addUser := &ffcli.Command{
		Name: "add-user", ShortUsage: "vigil org add-user [flags] SLUG USERNAME", ShortHelp: "Give an existing user a role in an organisation.",
		FlagSet: addFS, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("give the organisation's slug and a username")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				m, err := s.Services().Orgs.AddMember(cliContext(ctx), args[0], args[1], vigil.Role(*role))
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "%s is now %s in %s.\n", m.Username, m.Role, m.Organisation)
				return nil
			})
		},
	}

	suspend := func(suspended bool) func(context.Context, []string) error {
		return func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one slug")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				o, err := s.Services().Orgs.FindOrganisation(ctx, args[0])
				if err != nil {
					return describe(err)
				}
				if _, err := s.Services().Orgs.UpdateOrganisation(ctx, o.Slug, vigil.OrganisationUpdate{Suspended: &suspended, Version: o.Version}); err != nil {
					return describe(err)
				}
				state := "active again"
				if suspended {
					state = "suspended: its incidents are read-only and it takes no new ones"
				}
				fmt.Fprintf(stdout, "%s is %s.\n", o.Slug, state)
				return nil
			})
		}
	}
	return &ffcli.Command{
		Name: "org", ShortUsage: "vigil org <create|list|add-user|suspend|resume>", ShortHelp: "Manage organisations.",
		FlagSet: flag.NewFlagSet("org", flag.ContinueOnError),
		Exec:    func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{create, list, addUser,
			{Name: "suspend", ShortUsage: "vigil org suspend SLUG", ShortHelp: "Make an organisation read-only (nothing is deleted).",
				FlagSet: newFS("org suspend"), Options: options, Exec: suspend(true)},
			{Name: "resume", ShortUsage: "vigil org resume SLUG", ShortHelp: "Lift an organisation's suspension.",
				FlagSet: newFS("org resume"), Options: options, Exec: suspend(false)},
		},
	}
}
