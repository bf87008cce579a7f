package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
)

func userCommand(stdin io.Reader, stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	newFS := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg.storeFlags(fs)
		return fs
	}
	// readPassword takes a password from stdin when asked to, or makes one.
	readPassword := func(fromStdin bool) (pw string, generated bool, err error) {
		if fromStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return "", false, err
			}
			return strings.TrimRight(line, "\r\n"), false, nil
		}
		pw, err = vigil.NewSecret()
		return pw[:24], true, err
	}

	addFS := newFS("user add")
	role := addFS.String("role", "responder", "role: admin, manager, responder, viewer or reporter")
	org := addFS.String("org", "", "the organisation (slug) the user joins with -role; default: the default organisation")
	name := addFS.String("name", "", "full name")
	email := addFS.String("email", "", "e-mail address")
	addStdin := addFS.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	add := &ffcli.Command{
		Name: "add", ShortUsage: "vigil user add [flags] USERNAME", ShortHelp: "Create a user.",
		FlagSet: addFS, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one username")
			}
			pw, generated, err := readPassword(*addStdin)
			if err != nil {
				return err
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				u := &vigil.User{Username: args[0], Name: *name, Email: *email, Role: vigil.Role(*role)}
				if *org != "" && *org != vigil.DefaultOrganisationSlug {
					u.Role = ""
					if !vigil.Role(*role).Valid() {
						return fmt.Errorf("unknown role %q", *role)
					}
					if _, err := s.Services().Orgs.FindOrganisation(cliContext(ctx), *org); err != nil {
						return describe(err)
					}
				}
				if err := s.Services().Users.CreateUser(cliContext(ctx), u, pw); err != nil {
					return describe(err)
				}
				where := vigil.DefaultOrganisationSlug
				if u.Role == "" {
					m, err := s.Services().Orgs.AddMember(cliContext(ctx), *org, u.Username, vigil.Role(*role))
					if err != nil {
						return describe(err)
					}
					where = m.Organisation
				}
				fmt.Fprintf(stdout, "Created %s (%s in %s), ID %d.\n", u.Username, *role, where, u.ID)
				if generated {
					fmt.Fprintf(stdout, "Password: %s\n", pw)
				}
				return nil
			})
		},
	}

	listFS := newFS("user list")
	list := &ffcli.Command{
		Name: "list", ShortUsage: "vigil user list", ShortHelp: "List users.", FlagSet: listFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tSTATUS\tNAME")
				for offset := 0; ; {
					users, total, err := s.Services().Users.FindUsers(cliContext(ctx), vigil.UserFilter{Offset: offset, Limit: vigil.MaxPageSize})
					if err != nil {
						return describe(err)
					}
					for _, u := range users {
						status := "active"
						if u.Disabled {
							status = "disabled"
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, status, u.Name)
					}
					offset += len(users)
					if offset >= total || len(users) == 0 {
						break
					}
				}
				return tw.Flush()
			})
		},
	}

	setDisabled := func(disabled bool) func(context.Context, []string) error {
		return func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one username")
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				u, err := s.Services().Users.FindUserByUsername(ctx, args[0])
				if err != nil {
					return describe(err)
				}
				if _, err := s.Services().Users.UpdateUser(ctx, u.ID, vigil.UserUpdate{Disabled: &disabled, Version: u.Version}); err != nil {
					return describe(err)
				}
				state := "enabled"
				if disabled {
					state = "disabled; their sessions have ended"
				}
				fmt.Fprintf(stdout, "%s is %s.\n", u.Username, state)
				return nil
			})
		}
	}
	disable := &ffcli.Command{Name: "disable", ShortUsage: "vigil user disable USERNAME", ShortHelp: "Disable a user and end their sessions.",
		FlagSet: newFS("user disable"), Options: options, Exec: setDisabled(true)}
	enable := &ffcli.Command{Name: "enable", ShortUsage: "vigil user enable USERNAME", ShortHelp: "Enable a disabled user.",
		FlagSet: newFS("user enable"), Options: options, Exec: setDisabled(false)}

	pwFS := newFS("user passwd")
	pwStdin := pwFS.Bool("password-stdin", false, "read the new password from the first line of stdin instead of generating one")
	passwd := &ffcli.Command{
		Name: "passwd", ShortUsage: "vigil user passwd [flags] USERNAME", ShortHelp: "Set a user's password (ends their sessions and unlocks them).",
		FlagSet: pwFS, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one username")
			}
			pw, generated, err := readPassword(*pwStdin)
			if err != nil {
				return err
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				ctx := cliContext(ctx)
				u, err := s.Services().Users.FindUserByUsername(ctx, args[0])
				if err != nil {
					return describe(err)
				}
				if err := s.Services().Users.SetPassword(ctx, u.ID, "", pw); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "Password set for %s.\n", u.Username)
				if generated {
					fmt.Fprintf(stdout, "Password: %s\n", pw)
				}
				return nil
			})
		},
	}
	return &ffcli.Command{
		Name: "user", ShortUsage: "vigil user <add|list|disable|enable|passwd>", ShortHelp: "Manage users.",
		FlagSet:     flag.NewFlagSet("user", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{add, list, disable, enable, passwd},
	}
}

// describe turns a Vigil error into a message for the terminal, naming the
// fields at fault.
func describe(err error) error {
	if err == nil || vigil.ErrorCode(err) == vigil.EINTERNAL {
		return err
	}
	msg := vigil.ErrorMessage(err)
	for _, f := range vigil.ErrorFields(err) {
		if f.Message != msg {
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
		}
	}
	return errors.New(msg)
}
