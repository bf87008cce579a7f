package main

import (
	"context"
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
	"github.com/vigil-ir/vigil/feed"
	vigilhttp "github.com/vigil-ir/vigil/http"
)

func taxiiCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	newFS := func(name string) *flag.FlagSet {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		cfg.storeFlags(fs)
		return fs
	}
	group := func(name, usage, help string, subs ...*ffcli.Command) *ffcli.Command {
		return &ffcli.Command{Name: name, ShortUsage: usage, ShortHelp: help, FlagSet: flag.NewFlagSet(name, flag.ContinueOnError),
			Exec: func(context.Context, []string) error { return flag.ErrHelp }, Subcommands: subs}
	}

	caddFS := newFS("taxii collection add")
	title := caddFS.String("title", "", "the collection's title (required)")
	desc := caddFS.String("description", "", "what it holds and who it is for")
	cadd := &ffcli.Command{
		Name: "add", ShortUsage: "vigil taxii collection add -title TITLE", ShortHelp: "Add a TAXII collection and print its id.",
		FlagSet: caddFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				c := &vigil.Collection{Title: *title, Description: *desc}
				if err := s.Services().Sharing.CreateCollection(cliContext(ctx), c); err != nil {
					return describe(err)
				}
				fmt.Fprintln(stdout, c.ID)
				return nil
			})
		},
	}
	clist := &ffcli.Command{
		Name: "list", ShortUsage: "vigil taxii collection list", ShortHelp: "List the collections.", FlagSet: newFS("taxii collection list"), Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				list, err := s.Services().Sharing.FindCollections(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTITLE")
				for _, c := range list {
					fmt.Fprintf(tw, "%s\t%s\n", c.ID, c.Title)
				}
				return tw.Flush()
			})
		},
	}

	paddFS := newFS("taxii partner add")
	pname := paddFS.String("name", "", "the partner's name, its HTTP Basic username (required)")
	contact := paddFS.String("contact", "", "who to call there")
	identity := paddFS.String("identity", "", "its STIX identity id, if it has one")
	tlp := paddFS.String("tlp", "GREEN", "cleared up to: CLEAR, GREEN or AMBER")
	read := paddFS.String("read", "", "comma-separated collection ids it may read")
	write := paddFS.String("write", "", "comma-separated collection ids it may write to")
	padd := &ffcli.Command{
		Name: "add", ShortUsage: "vigil taxii partner add -name NAME -read COLLECTION [flags]",
		ShortHelp: "Invite a partner and print its token (shown once).", FlagSet: paddFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			acc := map[string]*vigil.CollectionAccess{}
			var order []string
			for _, c := range splitList(*read) {
				if acc[c] == nil {
					acc[c], order = &vigil.CollectionAccess{CollectionID: c}, append(order, c)
				}
				acc[c].Read = true
			}
			for _, c := range splitList(*write) {
				if acc[c] == nil {
					acc[c], order = &vigil.CollectionAccess{CollectionID: c}, append(order, c)
				}
				acc[c].Write = true
			}
			p := &vigil.Partner{Name: *pname, Contact: *contact, IdentityRef: *identity, MaxTLP: vigil.TLP(strings.ToUpper(*tlp))}
			for _, c := range order {
				p.Access = append(p.Access, *acc[c])
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				token, err := s.Services().Sharing.CreatePartner(cliContext(ctx), p)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(stderr, "Invited partner %d (%s), cleared up to TLP:%s. The token is shown once.\n", p.ID, p.Name, p.MaxTLP)
				fmt.Fprintf(stdout, "username: %s\ntoken: %s\n", p.Name, token)
				fmt.Fprintf(stderr, "\nIt connects to /taxii2/ with HTTP Basic (username and token as password) or \"Authorization: Bearer <token>\".\n")
				return nil
			})
		},
	}
	plist := &ffcli.Command{
		Name: "list", ShortUsage: "vigil taxii partner list", ShortHelp: "List partners and their rights.", FlagSet: newFS("taxii partner list"), Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				list, err := s.Services().Sharing.FindPartners(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tTLP\tTOKEN\tSTATE\tACCESS")
				for _, p := range list {
					state := "active"
					if p.Revoked {
						state = "revoked"
					}
					var acc []string
					for _, a := range p.Access {
						rw := ""
						if a.Read {
							rw += "r"
						}
						if a.Write {
							rw += "w"
						}
						acc = append(acc, a.CollectionID+":"+rw)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\n", p.ID, p.Name, p.MaxTLP, p.TokenHint, state, strings.Join(acc, " "))
				}
				return tw.Flush()
			})
		},
	}
	prevoke := &ffcli.Command{
		Name: "revoke", ShortUsage: "vigil taxii partner revoke ID|NAME", ShortHelp: "Revoke a partner's token at once.",
		FlagSet: newFS("taxii partner revoke"), Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return flag.ErrHelp
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				svc := s.Services().Sharing
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					list, err := svc.FindPartners(cliContext(ctx))
					if err != nil {
						return describe(err)
					}
					for _, p := range list {
						if p.Name == strings.ToLower(args[0]) {
							id = p.ID
						}
					}
					if id == 0 {
						return fmt.Errorf("no partner %q", args[0])
					}
				}
				if err := svc.RevokePartner(cliContext(ctx), id); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "Partner %s revoked.\n", args[0])
				return nil
			})
		},
	}
	faddFS := newFS("taxii feed add")
	fname := faddFS.String("name", "", "a name for the feed (required)")
	furl := faddFS.String("url", "", "the collection's URL: https://host/api-root/collections/ID/ (required)")
	fuser := faddFS.String("user", "", "HTTP Basic username, if the feed uses Basic")
	fsecret := faddFS.String("secret-file", "", "file holding the password or bearer token (or set VIGIL_FEED_SECRET)")
	fcoll := faddFS.String("collection", "", "the local collection to import into (required)")
	finterval := faddFS.Duration("interval", time.Hour, "how often to poll")
	fadd := &ffcli.Command{
		Name: "add", ShortUsage: "vigil taxii feed add -name N -url URL -collection ID [flags]", ShortHelp: "Subscribe to an external TAXII 2.1 collection.",
		FlagSet: faddFS, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			secret := os.Getenv("VIGIL_FEED_SECRET")
			if *fsecret != "" {
				b, err := os.ReadFile(*fsecret)
				if err != nil {
					return err
				}
				secret = strings.TrimSpace(string(b))
			}
			f := &vigil.Feed{Name: *fname, URL: *furl, Username: *fuser, Password: secret, CollectionID: *fcoll, PollInterval: int(finterval.Seconds())}
			return withStore(ctx, &cfg, func(s *Store) error {
				if err := s.Services().Feeds.CreateFeed(cliContext(ctx), f); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "Feed %d (%s) added; its first poll is due now (vigil serve runs it, or vigil taxii feed poll %d).\n", f.ID, f.Name, f.ID)
				return nil
			})
		},
	}
	flist := &ffcli.Command{
		Name: "list", ShortUsage: "vigil taxii feed list", ShortHelp: "List feeds and how their polls went.", FlagSet: newFS("taxii feed list"), Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				list, err := s.Services().Feeds.FindFeeds(cliContext(ctx))
				if err != nil {
					return describe(err)
				}
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tFETCHED\tLAST SUCCESS\tNEXT POLL\tFAILURES\tLAST ERROR")
				when := func(t *time.Time) string {
					if t == nil {
						return "-"
					}
					return t.Local().Format("2006-01-02 15:04")
				}
				for _, f := range list {
					fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\n", f.ID, f.Name, f.ObjectsFetched, when(f.LastSuccessAt), when(f.NextPollAt), f.Failures, f.LastError)
				}
				return tw.Flush()
			})
		},
	}
	fpoll := &ffcli.Command{
		Name: "poll", ShortUsage: "vigil taxii feed poll ID", ShortHelp: "Poll a feed now, from its cursor.", FlagSet: newFS("taxii feed poll"), Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return flag.ErrHelp
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("feed id %q: %w", args[0], err)
			}
			return withStore(ctx, &cfg, func(s *Store) error {
				svc := s.Services()
				before, err := svc.Feeds.FindFeed(cliContext(ctx), id)
				if err != nil {
					return describe(err)
				}
				perr := (&feed.Poller{Feeds: svc.Feeds, Sharing: svc.Sharing, Allow: cfg.OutboundAllow}).Poll(cliContext(ctx), id)
				after, err := svc.Feeds.FindFeed(cliContext(ctx), id)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "%d objects fetched.\n", after.ObjectsFetched-before.ObjectsFetched)
				if perr != nil {
					return fmt.Errorf("poll: %v", perr)
				}
				return nil
			})
		},
	}
	return group("taxii", "vigil taxii collection|partner|feed …", "Share through TAXII 2.1: collections, invited partners, feeds.",
		group("collection", "vigil taxii collection add|list", "TAXII collections.", cadd, clist),
		group("partner", "vigil taxii partner add|list|revoke", "Invited partners.", padd, plist, prevoke),
		group("feed", "vigil taxii feed add|list|poll", "External TAXII collections polled into yours.", fadd, flist, fpoll))
}

// stixImportCommand is "vigil stix import".
func stixImportCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	fs := flag.NewFlagSet("stix import", flag.ContinueOnError)
	cfg.storeFlags(fs)
	coll := fs.String("collection", "", "the collection to import into (required; see vigil taxii collection list)")
	return &ffcli.Command{
		Name: "import", ShortUsage: "vigil stix import -collection ID FILE", ShortHelp: "Import a STIX 2.1 bundle into a collection, streamed.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 || *coll == "" {
				return flag.ErrHelp
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			return withStore(ctx, &cfg, func(s *Store) error {
				st, derr, err := vigilhttp.AddBundle(cliContext(ctx), s.Services().Sharing, *coll, f)
				if err != nil {
					return describe(err)
				}
				if st == nil {
					return fmt.Errorf("%s: %v; nothing imported", args[0], derr)
				}
				fmt.Fprintf(stdout, "%d objects: %d imported or already there, %d refused (status %s).\n", st.TotalCount, st.SuccessCount, st.FailureCount, st.ID)
				for i, f := range st.Failures {
					if i == 20 {
						fmt.Fprintf(stdout, "  … and %d more\n", len(st.Failures)-20)
						break
					}
					fmt.Fprintf(stdout, "  %s: %s\n", f.ID, f.Message)
				}
				if st.FailureCount > 0 {
					return exitError{code: 1}
				}
				return nil
			})
		},
	}
}
