package vigil

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// ObservableType is the kind of an observable value, named after the STIX 2.1
// cyber-observable object types where one exists. File hashes are typed by
// algorithm; "hostname" is a name that need not be a registered domain.
type ObservableType string

// The observable types.
const (
	ObsIPv4      ObservableType = "ipv4-addr"   // address or CIDR block
	ObsIPv6      ObservableType = "ipv6-addr"   // address or CIDR block, RFC 5952 form
	ObsDomain    ObservableType = "domain-name" // lower-case ASCII (IDNA A-labels), no trailing dot
	ObsHostname  ObservableType = "hostname"    // a host's name, single label or FQDN
	ObsURL       ObservableType = "url"
	ObsEmail     ObservableType = "email-addr"
	ObsMD5       ObservableType = "md5"
	ObsSHA1      ObservableType = "sha1"
	ObsSHA256    ObservableType = "sha256"
	ObsSHA512    ObservableType = "sha512"
	ObsMAC       ObservableType = "mac-addr"
	ObsUser      ObservableType = "user-account"
	ObsASN       ObservableType = "autonomous-system"
	ObsFileName  ObservableType = "file-name"
	ObsRegistry  ObservableType = "windows-registry-key"
	ObsOtherText ObservableType = "other" // free text kept as given (trimmed)

	// ObsHash is accepted on input only: NormalizeObservable types it as
	// md5, sha1, sha256 or sha512 by its length.
	ObsHash ObservableType = "hash"
)

// ObservableTypes lists every stored observable type.
var ObservableTypes = []ObservableType{
	ObsIPv4, ObsIPv6, ObsDomain, ObsHostname, ObsURL, ObsEmail, ObsMD5, ObsSHA1, ObsSHA256, ObsSHA512,
	ObsMAC, ObsUser, ObsASN, ObsFileName, ObsRegistry, ObsOtherText,
}

// Observable is a typed, normalised value seen in an incident: an address, a
// domain, a hash. The same (type, value) in two incidents is the same thing,
// which is how Vigil says "seen before in INC-…".
type Observable struct {
	ID          int64          `json:"id"`
	IncidentID  int64          `json:"incident_id"`
	Type        ObservableType `json:"type"`
	Value       string         `json:"value"`
	IOC         bool           `json:"ioc"` // an indicator of compromise, to be shared and matched
	TLP         TLP            `json:"tlp"`
	Description string         `json:"description"`
	CreatedBy   *int64         `json:"created_by"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Version     int            `json:"version"`

	// SeenIn lists other incidents the actor may see that hold the same
	// value (at most a few; SeenCount has the total).
	SeenIn    []IncidentRef `json:"seen_in"`
	SeenCount int           `json:"seen_count"`
}

// IncidentRef names an incident briefly, for links and "seen in" lists.
type IncidentRef struct {
	ID        int64  `json:"id"`
	Reference string `json:"reference"`
	Title     string `json:"title"`
	Status    Status `json:"status"`
}

// MaxObservableDescLen bounds an observable's description.
const MaxObservableDescLen = 2000

// MaxObservablesPerRequest bounds a bulk add.
const MaxObservablesPerRequest = 1000

// Prepare normalises the observable's value for its type and checks the
// other fields. Field names are prefixed with field (for bulk adds).
func (o *Observable) Prepare(field string) error {
	var p Problems
	if o.Type != "" && o.Type != ObsHash && !inEnum(o.Type, ObservableTypes) {
		p.Add(field+"type", "Unknown observable type %q.", o.Type)
	} else if typ, val, err := NormalizeObservable(o.Type, o.Value); err != nil {
		p.Add(field+"value", "%s", ErrorMessage(err))
	} else {
		o.Type, o.Value = typ, val
	}
	if o.TLP == "" {
		o.TLP = TLPAmber
	} else if t, ok := ParseTLP(string(o.TLP)); ok {
		o.TLP = t
	}
	if !o.TLP.Valid() {
		p.Add(field+"tlp", "Unknown TLP label %q.", o.TLP)
	}
	o.Description = strings.TrimSpace(o.Description)
	if utf8.RuneCountInString(o.Description) > MaxObservableDescLen || !utf8.ValidString(o.Description) {
		p.Add(field+"description", "Description must be valid text of at most %d characters.", MaxObservableDescLen)
	}
	return p.Err()
}

// ObservableUpdate changes an observable's flags and notes; the value itself
// is fixed (delete and add to correct it).
type ObservableUpdate struct {
	IOC         *bool   `json:"ioc,omitempty"`
	TLP         *TLP    `json:"tlp,omitempty"`
	Description *string `json:"description,omitempty"`
	Version     int     `json:"version"`
}

// ObservableService manages observables. Adding needs PermIncidentEdit on the
// incident; reads follow the incident's visibility.
type ObservableService interface {
	// FindObservables lists an incident's observables with SeenIn filled.
	FindObservables(ctx context.Context, incidentID int64) ([]*Observable, error)
	FindObservableByID(ctx context.Context, id int64) (*Observable, error)
	// AddObservables normalises and adds many at once, in one transaction:
	// all or none. Values already on the incident are returned, not duplicated.
	AddObservables(ctx context.Context, incidentID int64, obs []*Observable) ([]*Observable, error)
	UpdateObservable(ctx context.Context, id int64, upd ObservableUpdate) (*Observable, error)
	DeleteObservable(ctx context.Context, id int64) error
	// FindSightings lists the incidents the actor may see that hold (typ,
	// value), after normalising value; newest first.
	FindSightings(ctx context.Context, typ ObservableType, value string, limit int) ([]IncidentRef, error)
}
