// Package sso signs people in to Vigil with an OpenID Connect provider:
// the authorisation code flow with PKCE (RFC 7636), a nonce and a state,
// on github.com/coreos/go-oidc/v3 (discovery, ID-token validation) and
// golang.org/x/oauth2 (the code exchange). Every call to the provider goes
// through the outbound policy (package outbound): an issuer on an
// internal address is reached only if the operator's allow-list names it.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/vigil-ir/vigil"
	"github.com/vigil-ir/vigil/outbound"
	"golang.org/x/oauth2"
)

// Client talks to the providers. The zero value is not usable: use New.
type Client struct {
	http *http.Client
	// Now is the clock ID tokens' expiry is checked against.
	Now func() time.Time

	mu        sync.Mutex
	providers map[string]cached // by issuer
}

type cached struct {
	p    *oidc.Provider
	at   time.Time
	logo string // end_session_endpoint
}

// discoveryTTL is how long a provider's discovery document is kept.
const discoveryTTL = 15 * time.Minute

// timeout bounds each call to a provider.
const timeout = 15 * time.Second

// New returns a client whose calls go only where allow admits.
func New(allow vigil.OutboundAllow) *Client {
	hc := outbound.NewClient(allow, 3)
	hc.Timeout = timeout
	return &Client{http: hc, Now: time.Now, providers: map[string]cached{}}
}

// Unavailable is the error for a provider Vigil could not reach or
// understand; its message is for the person signing in, and Detail for
// the log.
type Unavailable struct {
	Provider string
	Detail   error
}

func (e *Unavailable) Error() string {
	return fmt.Sprintf("Sign-in with %s is not available right now: Vigil could not reach it. Try again later, or ask an administrator.", e.Provider)
}

func (e *Unavailable) Unwrap() error { return e.Detail }

func (c *Client) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.http)
}

// discover returns the provider's discovery, from the cache if fresh.
func (c *Client) discover(ctx context.Context, p *vigil.OIDCProvider) (cached, error) {
	c.mu.Lock()
	d, ok := c.providers[p.Issuer]
	c.mu.Unlock()
	if ok && time.Since(d.at) < discoveryTTL {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op, err := oidc.NewProvider(c.ctx(ctx), p.Issuer)
	if err != nil {
		return cached{}, &Unavailable{Provider: p.Name, Detail: err}
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&extra) // the document parsed once already
	d = cached{p: op, at: time.Now(), logo: extra.EndSession}
	c.mu.Lock()
	c.providers[p.Issuer] = d
	c.mu.Unlock()
	return d, nil
}

func (c *Client) config(d cached, p *vigil.OIDCProvider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: d.p.Endpoint(),
		RedirectURL: redirect, Scopes: append([]string{oidc.ScopeOpenID}, p.Scopes...)}
}

// Begin starts a sign-in: it returns the URL to send the browser to and
// the sign-in to keep (state, nonce and PKCE verifier, all fresh).
func (c *Client) Begin(ctx context.Context, p *vigil.OIDCProvider, redirect string) (string, *vigil.OIDCLogin, error) {
	d, err := c.discover(ctx, p)
	if err != nil {
		return "", nil, err
	}
	l := &vigil.OIDCLogin{ProviderID: p.ID, Verifier: oauth2.GenerateVerifier()}
	if l.State, err = vigil.NewSecret(); err != nil {
		return "", nil, err
	}
	if l.Nonce, err = vigil.NewSecret(); err != nil {
		return "", nil, err
	}
	u := c.config(d, p, redirect).AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier))
	return u, l, nil
}

// Refused is the error for a sign-in the provider's answer does not
// support (a bad or mismatched ID token); its message is for the person
// signing in, and Detail for the log.
type Refused struct {
	Provider string
	Detail   error
}

func (e *Refused) Error() string {
	return fmt.Sprintf("Vigil could not check who you are with %s: its answer was not valid. Try again, or ask an administrator.", e.Provider)
}

func (e *Refused) Unwrap() error { return e.Detail }

// Finish exchanges the code for tokens (with the PKCE verifier) and
// validates the ID token: its signature, issuer, audience (the client
// ID), expiry and nonce. It returns who signed in and the raw ID token.
func (c *Client) Finish(ctx context.Context, p *vigil.OIDCProvider, redirect, code string, l *vigil.OIDCLogin) (*vigil.OIDCIdentity, string, error) {
	d, err := c.discover(ctx, p)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(c.ctx(ctx), timeout)
	defer cancel()
	tok, err := c.config(d, p, redirect).Exchange(ctx, code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, "", &Refused{Provider: p.Name, Detail: err}
		}
		return nil, "", &Unavailable{Provider: p.Name, Detail: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", &Refused{Provider: p.Name, Detail: errors.New("no id_token in the token response")}
	}
	return c.Verify(ctx, p, raw, l.Nonce)
}

// Verify validates an ID token as Finish does.
func (c *Client) Verify(ctx context.Context, p *vigil.OIDCProvider, raw, nonce string) (*vigil.OIDCIdentity, string, error) {
	d, err := c.discover(ctx, p)
	if err != nil {
		return nil, "", err
	}
	idt, err := d.p.Verifier(&oidc.Config{ClientID: p.ClientID, Now: c.Now}).Verify(c.ctx(ctx), raw)
	if err != nil {
		return nil, "", &Refused{Provider: p.Name, Detail: err}
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return nil, "", &Refused{Provider: p.Name, Detail: errors.New("the ID token's nonce is not the one sent")}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, "", &Refused{Provider: p.Name, Detail: err}
	}
	id := &vigil.OIDCIdentity{Subject: idt.Subject}
	id.Username = vigil.OIDCUsername(claimString(claims[p.UsernameClaim]))
	id.Name = claimString(claims["name"])
	id.Email = claimString(claims["email"])
	if p.GroupsClaim != "" {
		id.Groups = claimStrings(claims[p.GroupsClaim])
	}
	return id, raw, nil
}

func claimString(v any) string {
	s, _ := v.(string)
	return s
}

// claimStrings reads a groups claim: a list of strings, or one string.
func claimStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// EndSessionURL is where to send the browser to end the session at the
// provider too (RP-initiated logout), or "" if it advertises no
// end_session_endpoint.
func (c *Client) EndSessionURL(ctx context.Context, p *vigil.OIDCProvider, idToken, after string) string {
	d, err := c.discover(ctx, p)
	if err != nil || d.logo == "" {
		return ""
	}
	u, err := url.Parse(d.logo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", p.ClientID)
	if after != "" {
		q.Set("post_logout_redirect_uri", after)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// IsUnavailable reports whether err says the provider could not be reached.
func IsUnavailable(err error) bool {
	var u *Unavailable
	return errors.As(err, &u)
}

// Detail returns what the log should say of err.
func Detail(err error) string {
	var u *Unavailable
	var r *Refused
	switch {
	case errors.As(err, &u):
		return strings.TrimSpace(fmt.Sprint(u.Detail))
	case errors.As(err, &r):
		return strings.TrimSpace(fmt.Sprint(r.Detail))
	}
	return err.Error()
}
