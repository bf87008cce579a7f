package main

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/anchor"
)

// AnchorConfig says where the anchor key and the checkpoints are. The key
// is VIGIL_ANCHOR_KEY (the base64 of its seed) if set, else the file
// KeyFile, by default vigil-anchor.key in the data folder's parent; the
// checkpoints file is File, by default vigil-anchors.log beside the key.
type AnchorConfig struct {
	KeyFile string
	File    string // "off": no file
}

// anchorKeyEnv holds the signing key itself (the base64 of its 32-byte
// seed), for instances that share one; VIGIL_ANCHOR_KEY_FILE names a file
// holding it (the -anchor-key-file flag).
const anchorKeyEnv = "VIGIL_ANCHOR_KEY"

// anchorFlags registers the flags that find the key and the checkpoints.
func (c *Config) anchorFlags(fs *flag.FlagSet) {
	if fs.Lookup("anchor-key-file") != nil {
		return // every store command has them (storeFlags); a verify command asks again
	}
	fs.StringVar(&c.Anchor.KeyFile, "anchor-key-file", "", "file of the key that signs checkpoints of the audit and custody logs (default: "+anchor.KeyFileName+
		" in the data folder's parent; "+anchorKeyEnv+" may hold the key itself)")
	fs.StringVar(&c.Anchor.File, "anchor-file", "", "append-only file of the signed checkpoints (default: "+anchor.LogFileName+" beside the key; off for none)")
}

// anchorKeyPath is the key file's path.
func (c *Config) anchorKeyPath() string {
	if c.Anchor.KeyFile != "" {
		return c.Anchor.KeyFile
	}
	data, err := filepath.Abs(c.Data)
	if err != nil {
		data = c.Data
	}
	return filepath.Join(filepath.Dir(data), anchor.KeyFileName)
}

// anchorFilePath is the checkpoints file's path ("" for none).
func (c *Config) anchorFilePath() string {
	switch c.Anchor.File {
	case "off":
		return ""
	case "":
		return filepath.Join(filepath.Dir(c.anchorKeyPath()), anchor.LogFileName)
	}
	return c.Anchor.File
}

// anchorKey returns the signing key. With create, a missing key file at
// the default place is made, and its path returned as created.
func (c *Config) anchorKey(create bool) (key ed25519.PrivateKey, created string, err error) {
	if s := os.Getenv(anchorKeyEnv); s != "" {
		key, err := anchor.ParseKey([]byte(s))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", anchorKeyEnv, err)
		}
		return key, "", nil
	}
	path := c.anchorKeyPath()
	key, err = anchor.LoadKey(path)
	if errors.Is(err, fs.ErrNotExist) && create && c.Anchor.KeyFile == "" {
		if key, err = anchor.CreateKey(path); err != nil {
			return nil, "", fmt.Errorf("create the anchor key: %w; set -anchor-key-file or %s, or -anchor-every 0 to run without checkpoints", err, anchorKeyEnv)
		}
		return key, path, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("anchor key: %w", err)
	}
	return key, "", nil
}

// keyFileOpen says whether the key file's mode lets others read it.
func keyFileOpen(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o077 != 0
}

// anchorCommand is "vigil anchor": the key's public half, and a new key.
func anchorCommand(stdout, stderr io.Writer) *ffcli.Command {
	var cfg Config
	pubFS := flag.NewFlagSet("anchor pubkey", flag.ContinueOnError)
	pubFS.StringVar(&cfg.Data, "data", "./vigil-data", "data folder (the key is in its parent by default)")
	cfg.anchorFlags(pubFS)
	pubkey := &ffcli.Command{
		Name: "pubkey", ShortUsage: "vigil anchor pubkey [flags]",
		ShortHelp: "Print the public key that checks the checkpoints (give it to whoever verifies them elsewhere).",
		FlagSet:   pubFS, Options: options,
		Exec: func(context.Context, []string) error {
			key, _, err := cfg.anchorKey(false)
			if err != nil {
				return err
			}
			pub := key.Public().(ed25519.PublicKey)
			fmt.Fprintf(stderr, "Key %s. Check checkpoints elsewhere with: vigil audit verify -anchor-pubkey FILE -anchors CHECKPOINTS\n", anchor.KeyID(pub))
			stdout.Write(anchor.MarshalPublicKey(pub))
			return nil
		},
	}
	keygen := &ffcli.Command{
		Name: "keygen", ShortUsage: "vigil anchor keygen FILE",
		ShortHelp: "Make a new anchor key in FILE (owner-only), for -anchor-key-file; its base64 seed, for " + anchorKeyEnv + ", is: openssl pkey -in FILE -outform DER | tail -c 32 | base64.",
		FlagSet:   flag.NewFlagSet("anchor keygen", flag.ContinueOnError),
		Exec: func(_ context.Context, args []string) error {
			if len(args) != 1 {
				return flag.ErrHelp
			}
			key, err := anchor.CreateKey(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Created the anchor key %s (key %s). Back it up apart from the database.\n", args[0], anchor.KeyID(key.Public().(ed25519.PublicKey)))
			return nil
		},
	}
	return &ffcli.Command{
		Name: "anchor", ShortUsage: "vigil anchor pubkey | keygen FILE", ShortHelp: "The key that signs checkpoints of the audit and custody logs.",
		FlagSet:     flag.NewFlagSet("anchor", flag.ContinueOnError),
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
		Subcommands: []*ffcli.Command{pubkey, keygen},
	}
}

// anchorVerify is what the verify commands take to check the chains
// against the checkpoints.
type anchorVerify struct {
	cfg    *Config
	pubkey string // -anchor-pubkey: a file, or the base64 of the key
}

// verifyFlags registers the anchor flags of a verify command.
func (a *anchorVerify) verifyFlags(fs *flag.FlagSet) {
	a.cfg.anchorFlags(fs)
	fs.StringVar(&a.cfg.Anchor.File, "anchors", "", "same as -anchor-file: a file of checkpoints (the anchors file, a syslog file, what a webhook received)")
	fs.StringVar(&a.pubkey, "anchor-pubkey", "", "public key that checks the checkpoints: a PEM file (vigil anchor pubkey), or its base64 (default: the anchor key's)")
}

// publicKey returns the key that checks checkpoints.
func (a *anchorVerify) publicKey() (ed25519.PublicKey, error) {
	if a.pubkey != "" {
		b, err := os.ReadFile(a.pubkey)
		if errors.Is(err, fs.ErrNotExist) {
			b, err = []byte(a.pubkey), nil // the key itself
		}
		if err != nil {
			return nil, err
		}
		pub, err := anchor.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("-anchor-pubkey: %w", err)
		}
		return pub, nil
	}
	key, _, err := a.cfg.anchorKey(false)
	if err != nil {
		return nil, fmt.Errorf("%w (or give -anchor-pubkey)", err)
	}
	return key.Public().(ed25519.PublicKey), nil
}

// check checks the chains of kind against the checkpoints and writes what
// it finds; false if a chain does not hold a signed head or a checkpoint
// is forged. Without a checkpoints file it warns that only the chains'
// own consistency was checked.
func (a *anchorVerify) check(ctx context.Context, w io.Writer, anchors vigil.AnchorService, kind vigil.ChainKind) (bool, error) {
	what, do := "the audit log", "does"
	if kind == vigil.ChainCustody {
		what, do = "the custody logs", "do"
	}
	unanchored := func(why string) {
		fmt.Fprintf(w, "WARNING: %s: only the internal consistency of %s was checked. Deleting the newest entries and rewriting the head "+
			"the database keeps would not be found; see docs/operations.md (Anchored audit and custody logs).\n", why, what)
	}
	path := a.cfg.anchorFilePath()
	if path == "" {
		unanchored("no checkpoints file (-anchor-file off)")
		return true, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && a.cfg.Anchor.File == "" {
		unanchored("no checkpoints at " + path)
		return true, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	pub, err := a.publicKey()
	if err != nil {
		return false, err
	}
	l, err := anchor.ReadLog(f, pub)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	ok := true
	for _, b := range l.Bad {
		fmt.Fprintf(w, "FORGED  %s, %s: a checkpoint of key %s that was changed, damaged, or not signed by Vigil.\n", path, b, l.KeyID)
		ok = false
	}
	if l.OtherKeys > 0 {
		fmt.Fprintf(w, "NOTE: %d checkpoints in %s were signed with other keys and not checked.\n", l.OtherKeys, path)
	}
	n := l.Count(kind)
	if n == 0 {
		unanchored(fmt.Sprintf("%s holds no checkpoint of %s signed with key %s", path, what, l.KeyID))
		return ok, nil
	}
	problems, err := l.Check(ctx, anchors, kind)
	if err != nil {
		return false, describe(err)
	}
	// A removed tail fails every checkpoint signed after: the first one
	// per chain says what happened, the rest are counted.
	byChain := map[vigil.Chain][]vigil.ChainProblem{}
	for _, p := range problems {
		byChain[p.Head.Chain] = append(byChain[p.Head.Chain], p)
	}
	chains := slices.SortedFunc(maps.Keys(byChain), func(a, b vigil.Chain) int { return cmp.Compare(a.Scope, b.Scope) })
	for _, c := range chains {
		ps := byChain[c]
		slices.SortFunc(ps, func(a, b vigil.ChainProblem) int { return cmp.Compare(a.Head.Seq, b.Head.Seq) })
		p := ps[0]
		fmt.Fprintf(w, "NOT AS SIGNED  %s: the checkpoint of %s signed at %s (length %d, head %s…): %s\n",
			path, c, vigil.FormatTime(l.Heads[p.Head]), p.Head.Seq, p.Head.Hash[:16], p.Problem)
		if len(ps) > 1 {
			fmt.Fprintf(w, "               and %d later checkpoints of %s are not held either.\n", len(ps)-1, c)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(w, "FAILED: %s %s not hold %d of the %d heads signed in %s: entries were removed or rewritten behind Vigil's back.\n",
			what, do, len(problems), n, path)
		return false, nil
	}
	if kind == vigil.ChainAudit {
		latest := l.Latest[vigil.AuditChain]
		fmt.Fprintf(w, "Anchored: the audit log holds all %d heads signed in %s (the latest: %d events, signed at %s with key %s).\n",
			n, path, latest.Seq, vigil.FormatTime(latest.At), l.KeyID)
	} else {
		pieces := 0
		for c := range l.Latest {
			if c.Kind == vigil.ChainCustody {
				pieces++
			}
		}
		fmt.Fprintf(w, "Anchored: the custody logs of %d pieces of evidence hold all %d heads signed in %s (key %s).\n", pieces, n, path, l.KeyID)
	}
	return ok, nil
}

// announceKey tells of a key file just made at path ("" for none).
func (m *Main) announceKey(path string) {
	if path == "" {
		return
	}
	key, err := anchor.LoadKey(path)
	if err != nil {
		return
	}
	id := anchor.KeyID(key.Public().(ed25519.PublicKey))
	m.Logger.Info("created the anchor key", "path", path, "key", id)
	if m.Stdout != nil {
		fmt.Fprintf(m.Stdout, "\nCreated the anchor key %s (key %s).\nIt signs checkpoints of the audit and custody logs, and seals the secrets in the database\n"+
			"(SMTP and feed credentials, webhook signing secrets). Back it up apart from the data folder and the database:\n"+
			"without it those secrets cannot be read. Whoever checks the checkpoints needs its public key\n(vigil anchor pubkey). See docs/operations.md.\n\n", path, id)
	}
}

// startAnchors starts the checkpointer, unless AnchorEvery is negative
// (-anchor-every 0).
func (m *Main) startAnchors() error {
	cfg := &m.Config
	if cfg.AnchorEvery < 0 {
		m.Logger.Warn("checkpoints of the audit and custody logs are off (-anchor-every 0): deleting their newest entries would not be found")
		return nil
	}
	key, created, err := cfg.anchorKey(true)
	if err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	if created != "" {
		m.announceKey(created)
	} else if cfg.Anchor.KeyFile != "" || os.Getenv(anchorKeyEnv) == "" {
		if p := cfg.anchorKeyPath(); keyFileOpen(p) {
			m.Logger.Warn("the anchor key file can be read by others than its owner: chmod 600 it", "path", p)
		}
	}
	cp := &anchor.Checkpointer{Anchors: m.Store.Services().Anchors, Key: key, Every: cfg.AnchorEvery, Logger: m.Logger.With("component", "anchor")}
	var where []string
	if path := cfg.anchorFilePath(); path != "" {
		cp.Sinks = append(cp.Sinks, &anchor.File{Path: path})
		where = append(where, path)
		// Carry on from the last checkpoints: the first round checks that
		// the chains still hold them.
		if f, err := os.Open(path); err == nil {
			heads, bad, err := anchor.LatestHeads(f, pub)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
			for _, b := range bad {
				m.Logger.Error("a checkpoint in the anchors file does not verify: it was changed, damaged or not signed by Vigil", "path", path, "line", b)
			}
			cp.Seed(heads)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("anchors file: %w", err)
		}
	}
	if s := cfg.AnchorSyslog; s != "" {
		sink, err := parseSyslog(s)
		if err != nil {
			return err
		}
		if err := sink.Dial(); err != nil && sink.Network == "" {
			// No local syslog (a container, say): carry on without it.
			m.Logger.Warn("no local syslog to send checkpoints to; carrying on without it", "err", err)
		} else {
			if err != nil {
				m.Logger.Warn("syslog for checkpoints: will try again at each checkpoint", "err", err)
			}
			cp.Sinks = append(cp.Sinks, sink)
			where = append(where, sink.String())
		}
	}
	if u := cfg.AnchorWebhook; u != "" {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("-anchor-webhook must be an http(s) URL")
		}
		cp.Sinks = append(cp.Sinks, &anchor.Webhook{URL: u})
		where = append(where, "webhook")
	}
	if len(cp.Sinks) == 0 {
		return fmt.Errorf("checkpoints of the audit and custody logs have nowhere to go: set -anchor-file, -anchor-syslog or -anchor-webhook (or -anchor-every 0)")
	}
	m.Logger.Info("checkpoints of the audit and custody logs", "every", cfg.AnchorEvery.String(), "key", anchor.KeyID(pub), "to", strings.Join(where, ", "))
	ctx, cancel := context.WithCancel(vigil.NewContextWithActor(context.Background(), vigil.SystemActor("anchor")))
	m.stopAnchors, m.anchorsDone = cancel, make(chan struct{})
	go func() {
		defer close(m.anchorsDone)
		cp.Run(ctx)
	}()
	return nil
}

// parseSyslog reads -anchor-syslog: "local", or udp://HOST:PORT or
// tcp://HOST:PORT.
func parseSyslog(s string) (*anchor.Syslog, error) {
	if !anchor.SyslogAvailable {
		return nil, errors.New("-anchor-syslog: syslog is not available on this system")
	}
	if s == "local" {
		return &anchor.Syslog{}, nil
	}
	for _, n := range []string{"udp", "tcp"} {
		if addr, ok := strings.CutPrefix(s, n+"://"); ok && addr != "" {
			return &anchor.Syslog{Network: n, Addr: addr}, nil
		}
	}
	return nil, fmt.Errorf("-anchor-syslog must be local, udp://HOST:PORT or tcp://HOST:PORT, not %q", s)
}
