package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/vigil-ir/vigil"
)

// Info is what Vigil reads from a STIX object to store, filter and share
// it; the object itself is kept as it came.
type Info struct {
	ID          string
	Type        string
	SpecVersion string
	// Version is the object's modified time, else its created time; zero
	// for objects with neither (cyber-observables), whose version is the
	// time they were added.
	Version time.Time
	// TLP is the TLP label of its object_marking_refs (TLP 2.0, or the
	// TLP 1.0 definitions of the STIX 2.1 specification); "" when it has
	// none.
	TLP      vigil.TLP
	Markings []string
}

// scoTypes are the cyber-observable types of STIX 2.1, which need no
// created or modified time.
var scoTypes = []string{"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
	"ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url", "user-account",
	"windows-registry-key", "x509-certificate"}

// tlp1Markings are the TLP 1.0 marking definitions the STIX 2.1
// specification fixes (section 7.2.1.4).
var tlp1Markings = map[string]vigil.TLP{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": vigil.TLPClear, // TLP:WHITE
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": vigil.TLPGreen,
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": vigil.TLPAmber,
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": vigil.TLPRed,
}

var (
	typeRE      = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*-?$`)
	uuidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`)
	timestampRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?Z$`)
)

// ParseTimestamp reads a STIX timestamp (RFC 3339, UTC, "Z").
func ParseTimestamp(s string) (time.Time, error) {
	if !timestampRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp (such as 2026-11-30T09:15:00.000Z)", s)
	}
	if s[17:19] == "60" { // a leap second: Go's parser refuses it
		s = s[:17] + "59" + s[19:]
	}
	return time.Parse(time.RFC3339Nano, s)
}

// Check reads and checks one STIX 2.1 object: a JSON object with a type, an
// id of that type, spec_version 2.1 (optional on cyber-observables), and
// created and modified times where the type needs them. Objects of types
// Vigil does not know are accepted on the same terms and kept as they are.
func Check(raw []byte) (*Info, error) {
	var o struct {
		Type        *string         `json:"type"`
		ID          *string         `json:"id"`
		SpecVersion *string         `json:"spec_version"`
		Created     *string         `json:"created"`
		Modified    *string         `json:"modified"`
		Markings    json.RawMessage `json:"object_marking_refs"`
		Granular    []struct {
			Ref string `json:"marking_ref"`
		} `json:"granular_markings"`
		Pattern     *string `json:"pattern"`
		PatternType *string `json:"pattern_type"`
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	if err := gojson.Unmarshal(raw, &o); err != nil {
		if err := json.Unmarshal(raw, &o); err != nil { // for its error, which names the field
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) && ute.Field != "" {
				return nil, fmt.Errorf("%s must be a string", ute.Field)
			}
		}
		return nil, errors.New("not a JSON object")
	}
	in := &Info{}
	switch {
	case o.Type == nil:
		return nil, errors.New("no type")
	case len(*o.Type) < 3 || len(*o.Type) > 250 || !typeRE.MatchString(*o.Type):
		return nil, fmt.Errorf("type %q is not a STIX type name", *o.Type)
	case *o.Type == "bundle":
		return nil, errors.New("a bundle inside a bundle")
	}
	in.Type = *o.Type
	if o.ID == nil {
		return nil, errors.New("no id")
	}
	in.ID = *o.ID
	prefix, u, ok := bytes.Cut([]byte(in.ID), []byte("--"))
	if !ok || string(prefix) != in.Type || !uuidRE.Match(u) {
		return nil, fmt.Errorf("id %q is not %q, two hyphens and a UUID", in.ID, in.Type)
	}
	sco := slices.Contains(scoTypes, in.Type)
	switch {
	case o.SpecVersion != nil:
		in.SpecVersion = *o.SpecVersion
		if in.SpecVersion != SpecVersion {
			return nil, fmt.Errorf("spec_version %q: Vigil takes STIX 2.1 objects", in.SpecVersion)
		}
	case sco:
		in.SpecVersion = SpecVersion
	default:
		return nil, errors.New("no spec_version (STIX 2.1 objects carry \"spec_version\": \"2.1\")")
	}
	var created, modified time.Time
	var err error
	if o.Created != nil {
		if created, err = ParseTimestamp(*o.Created); err != nil {
			return nil, fmt.Errorf("created: %v", err)
		}
	}
	if o.Modified != nil {
		if modified, err = ParseTimestamp(*o.Modified); err != nil {
			return nil, fmt.Errorf("modified: %v", err)
		}
	}
	if !sco {
		if o.Created == nil {
			return nil, errors.New("no created time")
		}
		if o.Modified == nil && in.Type != "marking-definition" {
			return nil, errors.New("no modified time")
		}
		if !modified.IsZero() && modified.Before(created) {
			return nil, errors.New("modified is before created")
		}
	}
	if in.Type == "indicator" {
		switch {
		case o.Pattern == nil || o.PatternType == nil:
			return nil, errors.New("an indicator needs pattern and pattern_type")
		case *o.PatternType == "stix":
			if _, err := ParsePattern(*o.Pattern); err != nil {
				return nil, err
			}
		}
	}
	in.Version = modified
	if in.Version.IsZero() {
		in.Version = created
	}
	if len(o.Markings) > 0 && string(o.Markings) != "null" {
		if err := json.Unmarshal(o.Markings, &in.Markings); err != nil {
			return nil, errors.New("object_marking_refs must be a list of marking-definition ids")
		}
		for _, m := range in.Markings {
			in.TLP = stricterMarking(in.TLP, m)
		}
	}
	// Granular markings restrict parts of the object; Vigil shares whole
	// objects, so the most restrictive TLP among them counts for it all.
	for _, g := range o.Granular {
		in.TLP = stricterMarking(in.TLP, g.Ref)
	}
	if in.Type == "marking-definition" && in.TLP == "" {
		in.TLP = vigil.TLPClear // a definition not marked itself is public: it says what a label means
	}
	return in, nil
}

// stricterMarking returns the stricter of tlp and what the marking
// definition ref says. A marking Vigil does not know (a statement, a
// PAP or a sharing agreement of the producer's) may restrict sharing in
// ways it cannot read, so it counts as the most restrictive, TLP:RED:
// shared with nobody, matched only as an indicator "marked TLP:RED".
func stricterMarking(tlp vigil.TLP, ref string) vigil.TLP {
	t, ok := TLPOf(ref)
	if !ok {
		t, ok = tlp1Markings[ref]
	}
	if !ok {
		t = vigil.TLPRed
	}
	if t.Rank() > tlp.Rank() {
		return t
	}
	return tlp
}

// MaxObjectSize bounds one object in a bundle.
const MaxObjectSize = 8 << 20

// Decode streams the objects of a bundle, or of a TAXII envelope (both
// hold them in "objects"), calling fn with each object's JSON and what
// Check made of it, or why Check refused it: a bad object does not stop
// the others. It returns an error only when the document itself is not
// a bundle (malformed JSON, no objects list) or fn does.
func Decode(r io.Reader, fn func(i int, raw json.RawMessage, info *Info, err error) error) error {
	env, err := DecodeEnvelope(r, fn)
	if err == nil && !env.HasObjects {
		return errors.New(`no "objects" list`)
	}
	return err
}

// Envelope is what a TAXII envelope says besides its objects.
type Envelope struct {
	More       bool
	Next       string
	HasObjects bool
}

// DecodeEnvelope is Decode for a TAXII envelope, which may be empty ({}),
// and returns its more and next.
func DecodeEnvelope(r io.Reader, fn func(i int, raw json.RawMessage, info *Info, err error) error) (Envelope, error) {
	var env Envelope
	dec := json.NewDecoder(&compactReader{r: r})
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		msg := `not a JSON object: a STIX bundle is {"type": "bundle", "id": …, "objects": […]}`
		if err != nil {
			return env, fmt.Errorf("%s (%w)", msg, err)
		}
		return env, errors.New(msg)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return env, fmt.Errorf("malformed JSON: %w", err)
		}
		key, _ := t.(string)
		switch key {
		case "objects":
			env.HasObjects = true
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return env, errors.New(`"objects" must be a list`)
			}
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return env, fmt.Errorf("object %d: malformed JSON: %w", i, err)
				}
				var info *Info
				var cerr error
				if len(raw) > MaxObjectSize {
					cerr = fmt.Errorf("larger than %d MiB", MaxObjectSize>>20)
				} else {
					info, cerr = Check(raw)
				}
				if err := fn(i, raw, info, cerr); err != nil {
					return env, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return env, fmt.Errorf("malformed JSON: %w", err)
			}
		case "type":
			var v any
			if err := dec.Decode(&v); err != nil {
				return env, fmt.Errorf("malformed JSON: %w", err)
			}
			if v != "bundle" {
				return env, fmt.Errorf("type %v: not a bundle", v)
			}
		case "more":
			if err := dec.Decode(&env.More); err != nil {
				return env, errors.New(`"more" must be true or false`)
			}
		case "next":
			if err := dec.Decode(&env.Next); err != nil {
				return env, errors.New(`"next" must be a string`)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return env, fmt.Errorf("malformed JSON: %w", err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return env, fmt.Errorf("malformed JSON: %w", err)
	}
	return env, nil
}

// compactReader drops runs of JSON whitespace outside strings down to one
// character as the bundle streams in. encoding/json's Decoder rescans the
// whitespace it has buffered each time it reads more, so a body padded
// with megabytes of spaces would cost time growing with the square of its
// size; with this in front, it costs nothing.
type compactReader struct {
	r        io.Reader
	buf      []byte
	inString bool
	escaped  bool
	space    bool // the last byte passed on was whitespace outside a string
}

func (c *compactReader) Read(p []byte) (int, error) {
	for {
		if cap(c.buf) < len(p) {
			c.buf = make([]byte, len(p))
		}
		n, err := c.r.Read(c.buf[:len(p)])
		out := 0
		for _, b := range c.buf[:n] {
			switch {
			case c.inString:
				switch {
				case c.escaped:
					c.escaped = false
				case b == '\\':
					c.escaped = true
				case b == '"':
					c.inString = false
				}
			case b == ' ' || b == '\t' || b == '\n' || b == '\r':
				if c.space {
					continue
				}
				c.space = true
				p[out] = b
				out++
				continue
			case b == '"':
				c.inString = true
			}
			c.space = false
			p[out] = b
			out++
		}
		if out > 0 || err != nil {
			return out, err
		}
	}
}
