package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
	"github.com/vigil-ir/vigil/feed"
	vigilhttp "github.com/vigil-ir/vigil/http"
	"github.com/vigil-ir/vigil/mailbox"
	"github.com/vigil-ir/vigil/notify"
	"github.com/vigil-ir/vigil/web"
	"github.com/vigil-ir/vigil/worker"
)

// ServeConfig is the configuration of "vigil serve".
type ServeConfig struct {
	Config
	Addr          string
	SecureCookies bool
	// TrustedProxies are CIDR prefixes of the proxies whose
	// X-Forwarded-For and Forwarded headers name the client.
	TrustedProxies  string
	ShutdownTimeout time.Duration
	// LiveInterval is how often live pages check for changes (0: default).
	LiveInterval time.Duration
	// Timezone names the zone pages show times in ("" is the default
	// organisation profile's, which its duties' deadlines are written in).
	Timezone string
	// NoWorker runs no background jobs on this instance (others on the
	// same database run them).
	NoWorker bool
	// BaseURL is the public address notifications link to ("" is the
	// listening address).
	BaseURL string
	// Worker tuning: job lease, poll interval, reminder schedule, and the
	// timeout of one delivery attempt.
	JobLease, JobPoll, ScheduleEvery, NotifyTimeout time.Duration
	// SMTPCA is a PEM file of extra CAs that SMTP servers' certificates
	// may chain to (a private relay's).
	SMTPCA string
	// AnchorEvery is how often the chains' heads are signed (0: every
	// minute; negative: never). AnchorSyslog ("local", udp://…, tcp://…)
	// and AnchorWebhook (a URL) are where checkpoints go besides the
	// anchors file.
	AnchorEvery                 time.Duration
	AnchorSyslog, AnchorWebhook string
	// StoreTimeout is the deadline of a request's store work, and
	// ExportTimeout that of exports and imports and of a background job's
	// write (0: vigilhttp's defaults).
	StoreTimeout, ExportTimeout time.Duration
}

// Main is a running Vigil server: the store and the HTTP server, wired by
// hand. Tests run it on ":0" with a temporary data folder.
type Main struct {
	Config     ServeConfig
	Store      *Store
	HTTPServer *vigilhttp.Server
	Worker     *worker.Worker
	Logger     *slog.Logger
	Stdout     io.Writer // where the first admin password, and a new anchor key's path, are printed

	stopWorker  context.CancelFunc
	workerDone  chan struct{}
	stopAnchors context.CancelFunc
	anchorsDone chan struct{}
}

// Run opens the store, creates the first administrator if there are no
// users, and starts serving. It returns once the server listens.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := m.Config.openStore(ctx)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	m.Store = store
	if store.Secrets == nil {
		var created string
		if store.Secrets, created, err = m.Config.secretBox(true); err != nil {
			return fmt.Errorf("the key that seals secrets: %w", err)
		}
		m.announceKey(created)
	}
	if n, err := store.SealSecrets(ctx); err != nil {
		return fmt.Errorf("seal the secrets stored before: %w", err)
	} else if n > 0 {
		m.Logger.Info("sealed secrets stored before sealing began", "secrets", n)
	}
	if err := m.bootstrapAdmin(ctx); err != nil {
		return err
	}
	// The starter response plans, once each (an organisation's own plan
	// of the same key wins); those an earlier Vigil installed get this
	// one's lines where theirs still read as shipped (Report Fraud, for
	// one, in place of Action Fraud).
	boot := vigil.NewContextWithActor(ctx, vigil.SystemActor("bootstrap"))
	if n, err := store.Services().Plans.InstallStarterPlans(boot); err != nil {
		return fmt.Errorf("install the starter plans: %w", err)
	} else if n > 0 {
		m.Logger.Info("installed starter response plans", "plans", n)
	}
	if n, err := store.Services().Plans.ReviseStarterPlans(boot); err != nil {
		return fmt.Errorf("revise the starter plans: %w", err)
	} else if n > 0 {
		m.Logger.Info("updated starter response plans installed by an earlier Vigil", "plans", n)
	}
	metrics := vigilhttp.NewMetrics()
	store.Observe = metrics.ObserveStore
	store.OnStorage = func(volume string, full bool, err error) {
		metrics.ObserveStorage(volume, full)
		if full {
			// Once per episode: the alert an operator must act on.
			m.Logger.Error("disk full: writes fail until space is freed; reads go on, /readyz answers 503",
				"volume", volume, "err", err)
			return
		}
		m.Logger.Info("disk has room again: writes resume", "volume", volume)
	}
	// A write with no caller's deadline (a background job's) is given up
	// as an export would be: long enough for any job, short enough that a
	// connection that stopped answering is replaced.
	store.WriteTimeout = cmp.Or(m.Config.ExportTimeout, vigilhttp.DefaultExportTimeout)
	// After Observe and OnStorage are set: the checkpointer uses the store
	// from now on.
	if err := m.startAnchors(); err != nil {
		return err
	}
	srv := vigilhttp.NewServer(store.Services(), m.Logger)
	srv.Addr = m.Config.Addr
	srv.Ready = store.Ready
	srv.Metrics = metrics
	srv.StoreTimeout, srv.ExportTimeout = m.Config.StoreTimeout, m.Config.ExportTimeout
	srv.SecureCookies = m.Config.SecureCookies
	if srv.TrustedProxies, err = vigilhttp.ParseTrustedProxies(m.Config.TrustedProxies); err != nil {
		return fmt.Errorf("-trusted-proxies: %w", err)
	}
	ui, err := web.New(store.Services(), m.Logger)
	if err != nil {
		return err
	}
	ui.SecureCookies = m.Config.SecureCookies
	// Single sign-on: the providers' redirect URIs, and their issuers on
	// internal addresses, as for channels and feeds.
	ui.BaseURL, ui.OutboundAllow = m.Config.BaseURL, m.Config.OutboundAllow
	if m.Config.Timezone != "" {
		if ui.Location, err = time.LoadLocation(m.Config.Timezone); err != nil {
			return fmt.Errorf("timezone %q: %w", m.Config.Timezone, err)
		}
	} else if p, err := store.Services().Duties.FindProfile(vigil.NewContextWithActor(ctx, vigil.SystemActor("bootstrap"))); err == nil {
		// The organisation's own zone, which its duties' deadlines (and the
		// timeline's words about them) are written in: one zone on a page.
		if loc, err := p.Location(); err == nil {
			ui.Location = loc
		}
	}
	if m.Config.LiveInterval > 0 {
		ui.LiveInterval = m.Config.LiveInterval
	}
	srv.Mount(ui.Register)
	srv.OnShutdown(ui.Close)
	m.HTTPServer = srv
	if err := srv.Open(); err != nil {
		return err
	}
	m.Logger.Info("vigil serving", "url", srv.URL(), "store", store.Engine(), "version", vigil.Version)
	if !m.Config.NoWorker {
		if err := m.startWorker(metrics, srv.URL()); err != nil {
			return err
		}
	}
	return nil
}

// startWorker runs the background jobs until Close.
func (m *Main) startWorker(metrics *vigilhttp.Metrics, url string) error {
	sender := &notify.Sender{BaseURL: m.Config.BaseURL, Timeout: m.Config.NotifyTimeout, Allow: m.Config.OutboundAllow}
	if sender.BaseURL == "" {
		sender.BaseURL = url
	}
	if m.Config.SMTPCA != "" {
		pem, err := os.ReadFile(m.Config.SMTPCA)
		if err != nil {
			return fmt.Errorf("smtp-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("smtp-ca: no certificate in %s", m.Config.SMTPCA)
		}
		sender.RootCAs = pool
	}
	m.Worker = &worker.Worker{
		Store:         m.Store.Services().Worker,
		Sender:        sender,
		Logger:        m.Logger.With("component", "worker"),
		Lease:         m.Config.JobLease,
		Poll:          m.Config.JobPoll,
		ScheduleEvery: m.Config.ScheduleEvery,
		Observe:       metrics.ObserveJob,
		Feeds:         &feed.Poller{Feeds: m.Store.Services().Feeds, Sharing: m.Store.Services().Sharing, Allow: m.Config.OutboundAllow},
		IOC:           m.Store.Services().IOC,
		Exercises:     m.Store.Services().Exercises,
		Mailboxes:     &mailbox.Poller{Store: m.Store.Services().Mailboxes, Alerts: m.Store.Services().Alerts, Allow: m.Config.OutboundAllow},
	}
	ctx, cancel := context.WithCancel(vigil.NewContextWithActor(context.Background(), vigil.SystemActor("worker")))
	m.stopWorker, m.workerDone = cancel, make(chan struct{})
	go func() {
		defer close(m.workerDone)
		m.Worker.Run(ctx)
	}()
	return nil
}

// bootstrapAdmin makes sure the store has an administrator. With none
// active (a new store, or one that "vigil seed" filled with analysts
// before the first start), it creates "admin" with the password from
// VIGIL_ADMIN_PASSWORD, or a one-time password it prints. While that
// one-time password is unused, each start prints a new one: a first start
// that stopped after printing it (its port taken, say) leaves no admin that
// nobody can log in as.
func (m *Main) bootstrapAdmin(ctx context.Context) error {
	sys := vigil.NewContextWithActor(ctx, vigil.SystemActor("bootstrap"))
	users := m.Store.Services().Users
	role, active := vigil.RoleAdmin, false
	admins, _, err := users.FindUsers(sys, vigil.UserFilter{Role: &role, Disabled: &active, Limit: 2})
	if err != nil {
		return fmt.Errorf("find the administrators: %w", err)
	}
	pw, err := secretFromEnv("VIGIL_ADMIN_PASSWORD")
	if err != nil {
		return err
	}
	generated := pw == ""
	if generated {
		if pw, err = vigil.NewSecret(); err != nil {
			return err
		}
		pw = pw[:24]
	}
	if len(admins) > 0 {
		a := admins[0]
		if !generated || len(admins) > 1 || !a.MustChangePassword || a.LastLoginAt != nil {
			return nil
		}
		// The one-time password was never used: it may never have been
		// seen. Replace it, and print the new one.
		if err := users.SetPassword(sys, a.ID, "", pw); err != nil {
			return fmt.Errorf("renew the first admin's one-time password: %w", err)
		}
		if m.Stdout != nil {
			fmt.Fprintf(m.Stdout, "\nThe first administrator has not logged in yet; here is a new one-time password.\n  username: %s\n  password: %s\nThis password is shown once. Log in and change it.\n\n", a.Username, pw)
		}
		return nil
	}
	// A printed password is a one-time password: the admin must choose
	// their own at the first login. One from VIGIL_ADMIN_PASSWORD is the
	// operator's choice and stays.
	u := &vigil.User{Username: "admin", Name: "Administrator", Role: vigil.RoleAdmin, MustChangePassword: generated}
	if err := users.CreateUser(sys, u, pw); err != nil {
		if vigil.ErrorCode(err) == vigil.ECONFLICT {
			return fmt.Errorf("no active administrator, and the username admin is taken: make one with \"vigil user create -role admin\"")
		}
		return fmt.Errorf("create the first admin: %w", err)
	}
	if generated && m.Stdout != nil {
		fmt.Fprintf(m.Stdout, "\nCreated the first administrator.\n  username: admin\n  password: %s\nThis password is shown once. Log in and change it.\n\n", pw)
	} else {
		m.Logger.Info("created the first administrator from VIGIL_ADMIN_PASSWORD", "username", "admin")
	}
	return nil
}

// Close stops the server, letting in-flight requests finish within the
// shutdown timeout, then closes the store.
func (m *Main) Close() error {
	var err error
	if m.HTTPServer != nil {
		timeout := m.Config.ShutdownTimeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err = m.HTTPServer.Close(ctx)
	}
	if m.stopWorker != nil {
		// Jobs in hand finish their attempt (bounded by the send timeout)
		// and record it; nothing is claimed after this.
		m.stopWorker()
		select {
		case <-m.workerDone:
		case <-time.After(30 * time.Second):
			// A store that hangs must not hold the process: what the
			// worker had in hand is taken over when its leases run out.
			m.Logger.Warn("background jobs did not stop within 30 s")
		}
	}
	if m.stopAnchors != nil {
		// The last checkpoint, after the last write.
		m.stopAnchors()
		<-m.anchorsDone
	}
	if m.Store != nil {
		err = errors.Join(err, m.Store.Close())
	}
	return err
}

func serveCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg ServeConfig
	cfg.storeFlags(fs)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", false, "mark cookies Secure (set when a proxy in front terminates TLS)")
	fs.StringVar(&cfg.TrustedProxies, "trusted-proxies", "", "comma-separated CIDR prefixes of proxies in front whose X-Forwarded-For and Forwarded headers name the client (default: none; the connecting address is the client)")
	fs.StringVar(&cfg.Timezone, "timezone", "", "time zone of the web pages, such as Europe/London (default: the machine's)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.BoolVar(&cfg.NoWorker, "no-worker", false, "run no background jobs here (notifications, reminders); other instances on the same database do")
	fs.StringVar(&cfg.BaseURL, "base-url", "", "public URL of this Vigil, for links in notifications (default: the listening address)")
	fs.DurationVar(&cfg.JobLease, "job-lease", 2*time.Minute, "how long a claimed background job stays with this instance before another may take it over")
	fs.DurationVar(&cfg.JobPoll, "job-poll", time.Second, "how often to look for due background jobs")
	fs.DurationVar(&cfg.ScheduleEvery, "schedule-every", 30*time.Second, "how often to queue reminders of reporting duties and tasks coming due")
	fs.DurationVar(&cfg.NotifyTimeout, "notify-timeout", 10*time.Second, "time limit of one notification attempt (SMTP session or webhook request)")
	fs.StringVar(&cfg.SMTPCA, "smtp-ca", "", "PEM file of extra CA certificates for SMTP servers (a private relay's)")
	cfg.anchorFlags(fs)
	fs.DurationVar(&cfg.AnchorEvery, "anchor-every", anchor.DefaultEvery, "how often to sign checkpoints of the audit and custody logs' heads (and at shutdown); 0 for never")
	fs.StringVar(&cfg.AnchorSyslog, "anchor-syslog", "", "also send checkpoints to syslog: local (skipped if there is none), udp://HOST:PORT or tcp://HOST:PORT")
	fs.StringVar(&cfg.AnchorWebhook, "anchor-webhook", "", "also POST checkpoints (text/plain, one per line) to this URL")
	fs.DurationVar(&cfg.StoreTimeout, "store-timeout", vigilhttp.DefaultStoreTimeout, "deadline of a request's database work; past it the request answers 503 with Retry-After")
	fs.DurationVar(&cfg.ExportTimeout, "export-timeout", vigilhttp.DefaultExportTimeout, "deadline of exports and imports (evidence, packages, reports, STIX, TAXII add) and of a background job's write")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for profiling a benchmark)")
	return &ffcli.Command{
		Name: "serve", ShortUsage: "vigil serve [flags]", ShortHelp: "Run the Vigil server.",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			logger, err := cfg.logger(stderr)
			if err != nil {
				return err
			}
			stopProfile, err := startCPUProfile(*cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			if cfg.AnchorEvery == 0 {
				cfg.AnchorEvery = -1 // -anchor-every 0: never; in Config, 0 is the default
			}
			m := &Main{Config: cfg, Logger: logger, Stdout: stdout}
			if err := m.Run(ctx); err != nil {
				m.Close()
				return err
			}
			<-ctx.Done()
			logger.Info("shutting down")
			return m.Close()
		},
	}
}

func migrateCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var cfg Config
	cfg.storeFlags(fs)
	return &ffcli.Command{
		Name: "migrate", ShortUsage: "vigil migrate [flags]", ShortHelp: "Bring the database schema up to date (serve does this too).",
		FlagSet: fs, Options: options,
		Exec: func(ctx context.Context, _ []string) error {
			return withStore(ctx, &cfg, func(s *Store) error {
				v, err := s.SchemaVersion(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "%s schema is at version %d\n", s.Engine(), v)
				return nil
			})
		},
	}
}
