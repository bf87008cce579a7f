// Package stix maps Vigil's incidents and observables to STIX 2.1
// (OASIS, 2021) and back. It does no I/O: the store gives it data, the
// HTTP and CLI layers carry the bundles.
//
// Identifiers are deterministic, so exporting the same incident twice
// gives the same objects, and a change gives a new version of the same
// object (same id, later modified) rather than a new one:
//
//   - cyber-observables (SCOs) take the UUIDv5 the specification defines
//     (section 2.9): the STIX namespace and the canonical JSON (RFC 8785)
//     of the type's ID-contributing properties;
//   - Vigil's own domain objects take a UUIDv5 in Vigil's namespace of the
//     organisation's identity and the object's natural key (the incident
//     reference, the indicator's pattern), so two organisations sharing
//     the same indicator keep two objects, each with its creator.
package stix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vigil-ir/vigil"
)

// SpecVersion is the STIX version Vigil writes.
const SpecVersion = "2.1"

// scoNamespace is the UUIDv5 namespace of STIX cyber-observable ids (STIX
// 2.1 section 2.9).
var scoNamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// vigilNamespace is the UUIDv5 namespace of the objects Vigil makes.
var vigilNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/vigil-ir/vigil/stix"))

// Timestamp formats t as STIX wants: UTC, RFC 3339 with millisecond
// precision (created and modified must have at least that).
func Timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// canonical is the RFC 8785 (JCS) serialisation of v, for the values SCO
// ids are made of: objects with ASCII keys (Go sorts them, as JCS does),
// strings and integers. HTML characters are not escaped (JCS does not).
func canonical(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimRight(b.Bytes(), "\n")
}

// scoID is the deterministic id of an SCO from its ID-contributing
// properties.
func scoID(typ string, contributing map[string]any) string {
	return typ + "--" + uuid.NewSHA1(scoNamespace, canonical(contributing)).String()
}

// vigilID is the deterministic id of an object Vigil makes.
func vigilID(typ string, parts ...string) string {
	return typ + "--" + uuid.NewSHA1(vigilNamespace, []byte(typ+"\x00"+strings.Join(parts, "\x00"))).String()
}

// IdentityID is the id of an organisation's identity object.
func IdentityID(org string) string { return vigilID("identity", org) }

// Object is one STIX object, as JSON properties. Export builds them with
// a fixed set of properties; import keeps whatever it was given.
type Object map[string]any

// ID returns the object's id.
func (o Object) ID() string { s, _ := o["id"].(string); return s }

// Type returns the object's type.
func (o Object) Type() string { s, _ := o["type"].(string); return s }

// Bundle is a STIX bundle.
type Bundle struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Objects []Object `json:"objects"`
}

// hashNames are the STIX names of Vigil's hash observable types.
var hashNames = map[vigil.ObservableType]string{
	vigil.ObsMD5: "MD5", vigil.ObsSHA1: "SHA-1", vigil.ObsSHA256: "SHA-256", vigil.ObsSHA512: "SHA-512",
}

// SCO is the cyber-observable for an observable, with the STIX pattern
// that matches it; ok is false for a type STIX has no observable for
// (free text).
func SCO(o *vigil.Observable) (obj Object, pattern string, ok bool) {
	v := o.Value
	switch o.Type {
	case vigil.ObsIPv4, vigil.ObsIPv6, vigil.ObsDomain, vigil.ObsHostname, vigil.ObsURL, vigil.ObsEmail, vigil.ObsMAC:
		typ := string(o.Type)
		if o.Type == vigil.ObsHostname {
			typ = "domain-name" // STIX has no host name type; a host's name is a domain name
		}
		obj = Object{"type": typ, "value": v}
		op := "="
		if (o.Type == vigil.ObsIPv4 || o.Type == vigil.ObsIPv6) && strings.Contains(v, "/") {
			op = "ISSUBSET" // a CIDR block: any address in it
		}
		pattern = fmt.Sprintf("[%s:value %s %s]", typ, op, quote(v))
		obj["id"] = scoID(typ, map[string]any{"value": v})
	case vigil.ObsMD5, vigil.ObsSHA1, vigil.ObsSHA256, vigil.ObsSHA512:
		name := hashNames[o.Type]
		hashes := map[string]any{name: v}
		obj = Object{"type": "file", "hashes": hashes, "id": scoID("file", map[string]any{"hashes": hashes})}
		key := name
		if strings.Contains(name, "-") {
			key = "'" + name + "'"
		}
		pattern = fmt.Sprintf("[file:hashes.%s = %s]", key, quote(v))
	case vigil.ObsFileName:
		obj = Object{"type": "file", "name": v, "id": scoID("file", map[string]any{"name": v})}
		pattern = fmt.Sprintf("[file:name = %s]", quote(v))
	case vigil.ObsUser:
		obj = Object{"type": "user-account", "user_id": v, "id": scoID("user-account", map[string]any{"user_id": v})}
		pattern = fmt.Sprintf("[user-account:user_id = %s]", quote(v))
	case vigil.ObsASN:
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 64)
		if err != nil {
			return nil, "", false
		}
		obj = Object{"type": "autonomous-system", "number": n, "id": scoID("autonomous-system", map[string]any{"number": n})}
		pattern = fmt.Sprintf("[autonomous-system:number = %d]", n)
	case vigil.ObsRegistry:
		obj = Object{"type": "windows-registry-key", "key": v, "id": scoID("windows-registry-key", map[string]any{"key": v})}
		pattern = fmt.Sprintf("[windows-registry-key:key = %s]", quote(v))
	default:
		return nil, "", false
	}
	obj["spec_version"] = SpecVersion
	return obj, pattern, true
}

// quote writes a STIX pattern string literal: in single quotes, with
// backslash and quote escaped by a backslash.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// MediaType is the media type of a STIX 2.1 bundle.
const MediaType = "application/stix+json;version=2.1"
