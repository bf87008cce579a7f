package intake

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ir/vigil"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func integration(kind vigil.IntegrationKind) *vigil.Integration {
	in := &vigil.Integration{ID: 7, Name: "prod", Kind: kind}
	if kind.NeedsMapping() {
		in.Mapping = vigil.FieldMapping{Title: "context.title", Description: "context.message", Time: "date",
			Fingerprint: "alert.uuid", Status: "alert.actionGroup", URL: "context.link",
			Observables: map[string]vigil.ObservableType{"host": vigil.ObsHostname, "source_ip": ""}}
	}
	in.Normalize()
	return in
}

func parse(t *testing.T, kind vigil.IntegrationKind, name string) []*vigil.AlertInput {
	t.Helper()
	alerts, err := Parse(integration(kind), fixture(t, name))
	if err != nil {
		t.Fatalf("%s: %v (%v)", name, err, vigil.ErrorFields(err))
	}
	if len(alerts) == 0 {
		t.Fatalf("%s: no alerts", name)
	}
	for i, a := range alerts {
		a.PrepareObservables()
		if a.Fingerprint == "" || a.Title == "" || a.Severity == "" || a.TLP == "" {
			t.Errorf("%s alert %d not prepared: %+v", name, i, a)
		}
		if len(a.Warnings) > 0 {
			t.Errorf("%s alert %d: warnings %v", name, i, a.Warnings)
		}
	}
	return alerts
}

func hasObservable(a *vigil.AlertInput, typ vigil.ObservableType, value string) bool {
	return slices.Contains(a.Observables, vigil.ObservableInput{Type: typ, Value: value})
}

func TestAlertmanager(t *testing.T) {
	firing := parse(t, vigil.IntegrationAlertmanager, "alertmanager-firing.json")
	resolved := parse(t, vigil.IntegrationAlertmanager, "alertmanager-resolved.json")
	old := parse(t, vigil.IntegrationAlertmanager, "alertmanager-firing-v0.31.json")
	if len(firing) != len(resolved) || len(firing) != len(old) {
		t.Fatalf("alerts: %d firing, %d resolved, %d old", len(firing), len(resolved), len(old))
	}
	for i := range firing {
		f, r := firing[i], resolved[i]
		if f.Status != vigil.AlertFiring || r.Status != vigil.AlertResolved {
			t.Errorf("alert %d statuses %s, %s", i, f.Status, r.Status)
		}
		// The tool's fingerprint is kept, so the resolution finds the alert.
		if f.Fingerprint != r.Fingerprint || len(f.Fingerprint) != 16 {
			t.Errorf("alert %d fingerprints %q, %q", i, f.Fingerprint, r.Fingerprint)
		}
		if r.EndedAt.IsZero() || f.At.IsZero() {
			t.Errorf("alert %d times: started %v, ended %v", i, f.At, r.EndedAt)
		}
		if f.Labels["alertname"] == "" || f.URL == "" {
			t.Errorf("alert %d lost its labels or link: %+v", i, f)
		}
	}
	// Severity comes from the severity label.
	for _, a := range firing {
		want, _ := vigil.ParseAlertSeverity(a.Labels["severity"])
		if a.Labels["severity"] != "" && a.Severity != want {
			t.Errorf("%s: severity %s, label %q", a.Title, a.Severity, a.Labels["severity"])
		}
	}
	// The instance label names a host (without its port).
	found := false
	for _, a := range firing {
		inst := stripPort(a.Labels["instance"])
		if inst != "" && (hasObservable(a, vigil.ObsHostname, strings.ToLower(inst)) || hasObservable(a, vigil.ObsIPv4, inst)) {
			found = true
		}
	}
	if !found {
		t.Errorf("no alert has its instance as an observable: %+v", firing[0].Observables)
	}
}

func TestGrafana(t *testing.T) {
	for _, name := range []string{"grafana-firing.json", "grafana-firing-minimal.json"} {
		alerts := parse(t, vigil.IntegrationGrafana, name)
		for _, a := range alerts {
			if a.Status != vigil.AlertFiring {
				t.Errorf("%s: status %s", name, a.Status)
			}
		}
	}
	f := parse(t, vigil.IntegrationGrafana, "grafana-firing.json")
	r := parse(t, vigil.IntegrationGrafana, "grafana-resolved.json")
	if r[0].Status != vigil.AlertResolved || r[0].Fingerprint != f[0].Fingerprint {
		t.Errorf("resolved: %s %q, firing fingerprint %q", r[0].Status, r[0].Fingerprint, f[0].Fingerprint)
	}
}

func TestSplunk(t *testing.T) {
	// The documented example is an ad hoc search: search_name is null.
	a := parse(t, vigil.IntegrationSplunk, "splunk.json")[0]
	if !strings.HasPrefix(a.Title, "Splunk search ") || a.SourceRef == "" || a.URL == "" || a.Labels["result.sourcetype"] != "mongod" {
		t.Errorf("splunk alert: %+v", a)
	}
	b := parse(t, vigil.IntegrationSplunk, "splunk-search-one-result.json")[0]
	if b.Description == "" || len(b.Labels) < 5 || b.Title != b.Labels["search_name"] {
		t.Errorf("result fields lost: %+v", b)
	}
	// The same saved search firing again is the same alert.
	b2 := parse(t, vigil.IntegrationSplunk, "splunk-search-one-result.json")[0]
	if b.Fingerprint != b2.Fingerprint || a.Fingerprint == b.Fingerprint {
		t.Errorf("fingerprints %q %q %q", a.Fingerprint, b.Fingerprint, b2.Fingerprint)
	}
}

func TestWazuh(t *testing.T) {
	ssh := parse(t, vigil.IntegrationWazuh, "wazuh-sshd.json")[0]
	if ssh.Labels["rule.id"] == "" || ssh.Description == "" {
		t.Errorf("sshd alert: %+v", ssh)
	}
	if ssh.Labels["data.srcip"] != "" && !hasObservable(ssh, vigil.ObsIPv4, ssh.Labels["data.srcip"]) && !hasObservable(ssh, vigil.ObsIPv6, ssh.Labels["data.srcip"]) {
		t.Errorf("source address not extracted: %+v", ssh.Observables)
	}
	if name := ssh.Labels["agent.name"]; name == "" || ssh.Observables[0].Type != vigil.ObsHostname {
		t.Errorf("agent host not first: %+v", ssh.Observables)
	}
	fim := parse(t, vigil.IntegrationWazuh, "wazuh-syscheck.json")[0]
	vt := parse(t, vigil.IntegrationWazuh, "wazuh-virustotal.json")[0]
	for _, a := range []*vigil.AlertInput{ssh, fim, vt} {
		if !strings.Contains(a.Title, " ") {
			t.Errorf("title %q is not the rule description", a.Title)
		}
	}
	hashes := 0
	for _, o := range append(fim.Observables, vt.Observables...) {
		if o.Type == vigil.ObsMD5 || o.Type == vigil.ObsSHA1 || o.Type == vigil.ObsSHA256 {
			hashes++
		}
	}
	if hashes == 0 {
		t.Errorf("no file hashes from the syscheck or VirusTotal alerts: %+v %+v", fim.Observables, vt.Observables)
	}
	if ssh.Fingerprint == fim.Fingerprint {
		t.Error("different rules share a fingerprint")
	}
	for lvl, want := range map[int]vigil.Severity{0: vigil.SeverityLow, 5: vigil.SeverityMedium, 10: vigil.SeverityHigh, 15: vigil.SeverityCritical} {
		if got := WazuhSeverity(lvl); got != want {
			t.Errorf("level %d: %s, want %s", lvl, got, want)
		}
	}
}

func TestTheHive(t *testing.T) {
	for _, name := range []string{"thehive-alert.json", "thehive-alert-legacy.json", "thehive-alert-simple.json"} {
		a := parse(t, vigil.IntegrationTheHive, name)[0]
		if a.Labels["sourceRef"] == "" || a.Labels["source"] == "" {
			t.Errorf("%s: %+v", name, a.Labels)
		}
	}
	a := parse(t, vigil.IntegrationTheHive, "thehive-alert.json")[0]
	if len(a.Observables) == 0 {
		t.Errorf("no observables: %+v", a)
	}
	legacy := parse(t, vigil.IntegrationTheHive, "thehive-alert-legacy.json")[0]
	if len(legacy.Observables) == 0 {
		t.Errorf("TheHive 4 artifacts not read: %+v", legacy)
	}
	// The same type, source and sourceRef is the same alert.
	again := parse(t, vigil.IntegrationTheHive, "thehive-alert.json")[0]
	if again.Fingerprint != a.Fingerprint || a.Fingerprint == legacy.Fingerprint {
		t.Errorf("fingerprints %q %q %q", a.Fingerprint, again.Fingerprint, legacy.Fingerprint)
	}
	_, err := Parse(integration(vigil.IntegrationTheHive), []byte(`{"title":"x","severity":9}`))
	fields := vigil.ErrorFields(err)
	if vigil.ErrorCode(err) != vigil.EINVALID || len(fields) < 4 {
		t.Errorf("missing fields: %v %v", err, fields)
	}
}

func TestKibanaMapping(t *testing.T) {
	a := parse(t, vigil.IntegrationElastic, "kibana-webhook.json")[0]
	if a.Title != "rule 'SSH authentication failures > 20 in 5m' matched query" || a.Fingerprint != "b1f4c3d2-7a8e-4f6b-9c0d-2e1a5b7c9d31" {
		t.Errorf("mapped alert: %q %q", a.Title, a.Fingerprint)
	}
	if !hasObservable(a, vigil.ObsHostname, "bastion-01") || !hasObservable(a, vigil.ObsIPv4, "203.0.113.42") || !hasObservable(a, vigil.ObsUser, "root") {
		t.Errorf("observables: %+v", a.Observables)
	}
	if want := time.Date(2024, 5, 14, 9, 15, 2, 118e6, time.UTC); !a.At.Equal(want) {
		t.Errorf("time %v", a.At)
	}
	rec := parse(t, vigil.IntegrationElastic, "kibana-webhook-recovered.json")[0]
	if rec.Status != vigil.AlertResolved || rec.Fingerprint != a.Fingerprint {
		t.Errorf("recovered: %s %q", rec.Status, rec.Fingerprint)
	}
}

func TestElasticAlertDocument(t *testing.T) {
	in := &vigil.Integration{ID: 1, Name: "siem", Kind: vigil.IntegrationElastic, Mapping: vigil.FieldMapping{
		Title: "kibana.alert.rule.name", Severity: "kibana.alert.severity", Fingerprint: "kibana.alert.uuid", Time: "@timestamp",
	}}
	in.Normalize()
	alerts, err := Parse(in, fixture(t, "elastic-alert.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	a.PrepareObservables()
	if a.Title == "" || a.Fingerprint == "" || a.At.IsZero() {
		t.Errorf("alert: %+v", a)
	}
	var host, user bool
	for _, o := range a.Observables {
		host = host || o.Type == vigil.ObsHostname
		user = user || o.Type == vigil.ObsUser
	}
	if !host || !user {
		t.Errorf("host.name and user.name not found: %+v", a.Observables)
	}
}

func TestGenericMappingArray(t *testing.T) {
	in := &vigil.Integration{ID: 1, Name: "edr", Kind: vigil.IntegrationGeneric, Mapping: vigil.FieldMapping{
		Alerts: "detections", Title: "name", Severity: "sev", Fingerprint: "id",
		Severities:  map[string]vigil.Severity{"5": vigil.SeverityCritical},
		Observables: map[string]vigil.ObservableType{"device.ips": ""},
	}}
	in.Normalize()
	body := `{"detections":[{"id":"d1","name":"Mimikatz","sev":5,"device":{"ips":["10.0.0.1","2001:db8::1"]}},
		{"id":"d2","name":"Beacon","sev":"high","device.name":"WS-1"}]}`
	alerts, err := Parse(in, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		a.PrepareObservables()
	}
	if len(alerts) != 2 || alerts[0].Severity != vigil.SeverityCritical || alerts[1].Severity != vigil.SeverityHigh {
		t.Fatalf("alerts: %+v", alerts)
	}
	if !hasObservable(alerts[0], vigil.ObsIPv4, "10.0.0.1") || !hasObservable(alerts[0], vigil.ObsIPv6, "2001:db8::1") {
		t.Errorf("array observables: %+v", alerts[0].Observables)
	}
	if _, err := Parse(in, []byte(`{"detections":[{"id":"x"}]}`)); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Errorf("missing title: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := map[string]struct {
		kind vigil.IntegrationKind
		body string
	}{
		"empty":          {vigil.IntegrationAlertmanager, ``},
		"not json":       {vigil.IntegrationAlertmanager, `{"alerts": [`},
		"not utf-8":      {vigil.IntegrationAlertmanager, "{\"alerts\":[{\"labels\":{\"a\":\"\xff\"}}]}"},
		"deep":           {vigil.IntegrationGeneric, deep},
		"wrong kind":     {vigil.IntegrationAlertmanager, string(fixture(t, "splunk.json"))},
		"wazuh as am":    {vigil.IntegrationAlertmanager, string(fixture(t, "wazuh-sshd.json"))},
		"am as wazuh":    {vigil.IntegrationWazuh, string(fixture(t, "alertmanager-firing.json"))},
		"am as splunk":   {vigil.IntegrationSplunk, string(fixture(t, "alertmanager-firing.json"))},
		"am as thehive":  {vigil.IntegrationTheHive, string(fixture(t, "alertmanager-firing.json"))},
		"labels string":  {vigil.IntegrationAlertmanager, `{"version":"4","alerts":[{"labels":"x"}]}`},
		"no labels":      {vigil.IntegrationAlertmanager, `{"version":"4","alerts":[{"status":"firing"}]}`},
		"version 3":      {vigil.IntegrationAlertmanager, `{"version":"3","alerts":[]}`},
		"array":          {vigil.IntegrationGrafana, `[1,2]`},
		"wazuh no rule":  {vigil.IntegrationWazuh, `{"agent":{"name":"x"}}`},
		"splunk nothing": {vigil.IntegrationSplunk, `{"result":{}}`},
	}
	for name, c := range cases {
		_, err := Parse(integration(c.kind), []byte(c.body))
		if vigil.ErrorCode(err) != vigil.EINVALID || vigil.ErrorMessage(err) == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Too many alerts in one request.
	var b strings.Builder
	b.WriteString(`{"version":"4","alerts":[`)
	for i := range vigil.MaxAlertsPerRequest + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"labels":{"alertname":"a"}}`)
	}
	b.WriteString("]}")
	if _, err := Parse(integration(vigil.IntegrationAlertmanager), []byte(b.String())); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Errorf("too many: %v", err)
	}
}

// TestNumericKeys: keys that are only numbers (a label "0", an array at the
// top of a document) name no observable and break nothing.
func TestNumericKeys(t *testing.T) {
	for kind, body := range map[vigil.IntegrationKind]string{
		vigil.IntegrationAlertmanager: `{"version":"4","alerts":[{"labels":{"alertname":"x","0":"10.0.0.1","1.2":"y"}}]}`,
		vigil.IntegrationGeneric:      `{"0":"10.0.0.1","context":{"title":"t"}}`,
	} {
		alerts, err := Parse(integration(kind), []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		alerts[0].PrepareObservables()
	}
}

func TestLookup(t *testing.T) {
	tree, _ := decodeAny([]byte(`{"a":{"b.c":{"d":1}},"x":[{"y":"z"}],"kibana.alert.rule.name":"R"}`))
	for path, want := range map[string]string{"a.b.c.d": "1", "x.0.y": "z", "kibana.alert.rule.name": "R", "$.x.0.y": "z"} {
		v, ok := Lookup(tree, path)
		if !ok || scalarString(v) != want {
			t.Errorf("%s: %v %v", path, v, ok)
		}
	}
	if _, ok := Lookup(tree, "a.nope"); ok {
		t.Error("found a missing path")
	}
}

func TestDedupKeys(t *testing.T) {
	in := integration(vigil.IntegrationAlertmanager)
	in.DedupKeys = []string{"alertname"}
	body := `{"version":"4","alerts":[{"labels":{"alertname":"A","pod":"1"}},{"labels":{"alertname":"A","pod":"2"}},{"labels":{"alertname":"B"}}]}`
	alerts, err := Parse(in, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if alerts[0].Fingerprint != alerts[1].Fingerprint || alerts[0].Fingerprint == alerts[2].Fingerprint {
		t.Errorf("fingerprints %q %q %q", alerts[0].Fingerprint, alerts[1].Fingerprint, alerts[2].Fingerprint)
	}
}

// FuzzParse feeds every format parser arbitrary bodies: nothing may panic,
// a refusal is EINVALID with a message, and an accepted alert is prepared.
// The seeds are the fixtures (also in testdata/fuzz/FuzzParse).
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, n := range names {
		b, _ := os.ReadFile(n)
		for k := range vigil.IntegrationKinds {
			f.Add(uint8(k), b)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := vigil.IntegrationKinds[int(k)%len(vigil.IntegrationKinds)]
		alerts, err := Parse(integration(kind), body)
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID || vigil.ErrorMessage(err) == "" {
				t.Fatalf("%s: error %v is not EINVALID", kind, err)
			}
			return
		}
		for _, a := range alerts {
			a.PrepareObservables()
			if a.Fingerprint == "" || a.Title == "" || !a.TLP.Valid() || a.Severity.Rank() == 0 {
				t.Fatalf("%s: alert not prepared: %+v", kind, a)
			}
		}
	})
}

// depthByByte is jsonDepth the plain way, a byte at a time: the reference
// FuzzJSONDepth holds the fast one to.
func depthByByte(body []byte) int {
	depth, most, inString, escaped := 0, 0, false, false
	for _, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if most = max(most, depth); most > MaxDepth {
				return most
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

// FuzzJSONDepth: the vectorised depth scan agrees with the byte-at-a-time
// one on any input, escapes and unterminated strings included.
func FuzzJSONDepth(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, n := range names {
		b, _ := os.ReadFile(n)
		f.Add(b)
	}
	for _, s := range []string{`"\\"[`, `"\\\"[" ]`, `{"a":"}\\\\"}`, `[[["x\\`, `"`, `\\"[`, strings.Repeat("[", 70), `{"a":"[[[["}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := jsonDepth(body), depthByByte(body); got != want {
			t.Fatalf("jsonDepth(%q) = %d, want %d", body, got, want)
		}
	})
}

// TestLookupFieldType: a field is typed by its whole name or by a dotted
// suffix in parentTypes, as the scan of every entry did, but not by a
// suffix that only ends a word ("xhost.name").
func TestLookupFieldType(t *testing.T) {
	scan := func(k string) (vigil.ObservableType, bool) {
		for suffix, ty := range parentTypes {
			if k == suffix || strings.HasSuffix(k, "."+suffix) {
				return ty, true
			}
		}
		return "", false
	}
	keys := []string{"xhost.name", "name", "host", "event.", ".host.name", "a..user.name", "srcip", "data.srcip"}
	for name := range parentTypes {
		keys = append(keys, name, "event."+name, "a.b."+name, "x"+name, name+".0")
	}
	for _, k := range keys {
		want, inParent := scan(k)
		if got, ok := lookupFieldType(k); inParent && (!ok || got != want) {
			t.Errorf("lookupFieldType(%q) = %q, %v; want %q", k, got, ok, want)
		}
	}
	if got, _ := lookupFieldType("xhost.name"); got == vigil.ObsHostname && fieldTypes["name"] != vigil.ObsHostname {
		t.Error(`"xhost.name" typed as "host.name"`)
	}
}

const (
	testMD5    = "d41d8cd98f00b204e9800998ecf8427e"
	testSHA1   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	testSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// hashes returns the digests among a's observables.
func hashes(a *vigil.AlertInput) []vigil.ObservableInput {
	var out []vigil.ObservableInput
	for _, o := range a.Observables {
		if isHashType(o.Type) {
			out = append(out, o)
		}
	}
	return out
}

// TestHashesOnlyWhereNamed: digests come from fields that may hold them
// (by name, or by the format's definition) and from text where a label
// names them; identifiers that look like digests (TheHive's sourceRef,
// Kibana's alert uuid, a fingerprint) yield none.
func TestHashesOnlyWhereNamed(t *testing.T) {
	thehive := integration(vigil.IntegrationTheHive)
	body := func(desc string, obs ...string) []byte {
		return fmt.Appendf(nil, `{"type":"edr","source":"x","sourceRef":%q,"title":"Malware","description":%q,"observables":[%s]}`,
			testMD5, desc, strings.Join(obs, ","))
	}
	elastic := &vigil.Integration{ID: 1, Name: "siem", Kind: vigil.IntegrationElastic, Mapping: vigil.FieldMapping{
		Title: "kibana.alert.rule.name", Fingerprint: "kibana.alert.uuid", Time: "@timestamp",
		Observables: map[string]vigil.ObservableType{"kibana.alert.uuid": "", "process.hash.sha256": ""}}}
	elastic.Normalize()
	for _, tt := range []struct {
		name string
		in   *vigil.Integration
		body []byte
		want []vigil.ObservableInput
	}{
		// thehive4py's example: sourceRef is uuid.uuid4().hex.
		{"thehive4py sourceRef", thehive, fixture(t, "thehive-alert-observables.json"), nil},
		{"kibana.alert.uuid", elastic, fixture(t, "elastic-alert.json"), nil},
		{"wazuh syscheck", integration(vigil.IntegrationWazuh), fixture(t, "wazuh-syscheck.json"), []vigil.ObservableInput{
			{Type: vigil.ObsMD5, Value: testMD5}, {Type: vigil.ObsSHA1, Value: testSHA1}, {Type: vigil.ObsSHA256, Value: testSHA256}}},
		{"labelled in the description", thehive, body("Dropper seen. SHA256: " + testSHA256), []vigil.ObservableInput{{Type: vigil.ObsSHA256, Value: testSHA256}}},
		{"bare in the description", thehive, body("Dropper seen: " + testSHA256 + " in /tmp."), nil},
		{"hash observable", thehive, body("", `{"dataType":"hash","data":"`+testSHA1+`"}`), []vigil.ObservableInput{{Type: vigil.ObsSHA1, Value: testSHA1}}},
		{"other observable", thehive, body("", `{"dataType":"other","data":"`+testSHA1+`"}`), nil},
		{"alertmanager labels", integration(vigil.IntegrationAlertmanager), fmt.Appendf(nil,
			`{"version":"4","alerts":[{"labels":{"alertname":"Malware","request_id":%q,"fingerprint":%q,"file_sha1":%q},"annotations":{"description":"md5=%s"},"fingerprint":"0123456789abcdef"}]}`,
			testSHA1, testSHA256, testSHA1, testMD5),
			[]vigil.ObservableInput{{Type: vigil.ObsSHA1, Value: testSHA1}, {Type: vigil.ObsMD5, Value: testMD5}}},
		{"mapped hash field", elastic, fmt.Appendf(nil, `{"kibana.alert.rule.name":"x","kibana.alert.uuid":%q,"process":{"hash":{"sha256":%q}},"event":{"id":%q}}`,
			testSHA256, testSHA256, testMD5), []vigil.ObservableInput{{Type: vigil.ObsSHA256, Value: testSHA256}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alerts, err := Parse(tt.in, tt.body)
			if err != nil {
				t.Fatalf("Parse: %v %v", err, vigil.ErrorFields(err))
			}
			a := alerts[0]
			a.PrepareObservables()
			if got := hashes(a); !slices.Equal(got, tt.want) {
				t.Errorf("hashes = %v, want %v (all: %v)", got, tt.want, a.Observables)
			}
		})
	}
	// What the thehive4py example names is still found.
	a := parse(t, vigil.IntegrationTheHive, "thehive-alert-observables.json")[0]
	if !hasObservable(a, vigil.ObsIPv4, "1.2.3.4") || !hasObservable(a, vigil.ObsDomain, "example.com") {
		t.Errorf("observables: %v", a.Observables)
	}
}

// TestOneTypePerValue: a value found under two types is kept once, under
// the type the field it came from gives it.
func TestOneTypePerValue(t *testing.T) {
	body := `{"version":"4","alerts":[{"labels":{"alertname":"NodeDown","instance":"api-7.example.com:9100"},
		"annotations":{"description":"api-7.example.com stopped answering; see docs.example.org"},"fingerprint":"0123456789abcdef"}]}`
	alerts, err := Parse(integration(vigil.IntegrationAlertmanager), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	a.PrepareObservables()
	want := []vigil.ObservableInput{{Type: vigil.ObsHostname, Value: "api-7.example.com"}, {Type: vigil.ObsDomain, Value: "docs.example.org"}}
	if !slices.Equal(a.Observables, want) {
		t.Errorf("observables = %v, want %v", a.Observables, want)
	}
	// Wazuh: the agent is a host; the same name in the log is that host.
	w := parse(t, vigil.IntegrationWazuh, "wazuh-sshd.json")[0]
	seen := map[string]vigil.ObservableType{}
	for _, o := range w.Observables {
		if t0, ok := seen[o.Value]; ok {
			t.Errorf("%q is both %s and %s", o.Value, t0, o.Type)
		}
		seen[o.Value] = o.Type
	}
}

// TestWrongTypeNamesTheField: a typed field of any format holding the
// wrong JSON type is a problem naming that field, however deep it is, not
// "the payload is a JSON string".
func TestWrongTypeNamesTheField(t *testing.T) {
	for _, tt := range []struct {
		kind  vigil.IntegrationKind
		body  string
		field string
		says  string
	}{
		{vigil.IntegrationWazuh, `{"rule":{"level":"ten","description":"x"}}`, "rule.level", "must be a number"},
		{vigil.IntegrationWazuh, `{"rule":{"level":{"n":10},"description":"x"}}`, "rule.level", "must be a number"},
		{vigil.IntegrationWazuh, `{"rule":{"level":[10],"description":"x"}}`, "rule.level", "must be a number"},
		{vigil.IntegrationWazuh, `{"rule":{"level":5,"description":7}}`, "rule.description", "must be a string"},
		{vigil.IntegrationWazuh, `{"timestamp":5,"rule":{"level":5,"description":"x"}}`, "timestamp", "must be a string"},
		{vigil.IntegrationWazuh, `{"rule":"sshd"}`, "rule", "must be an object"},
		{vigil.IntegrationAlertmanager, `{"version":"4","alerts":[{"labels":{"a":"b"},"startsAt":5}]}`, "alerts[0].startsAt", "must be a string"},
		{vigil.IntegrationAlertmanager, `{"version":"4","alerts":[{"labels":{"a":"b"}},{"labels":{"severity":2}}]}`, "alerts[1].labels.severity", "must be a string"},
		{vigil.IntegrationAlertmanager, `{"version":4,"alerts":[]}`, "version", "must be a string"},
		{vigil.IntegrationGrafana, `{"alerts":[{"labels":{"a":"b"},"values":{"A":"high"}}]}`, "alerts[0].values.A", "must be a number"},
		{vigil.IntegrationGrafana, `{"orgId":"main","alerts":[]}`, "orgId", "must be a number"},
		{vigil.IntegrationSplunk, `{"sid":"x","result":[1]}`, "result", "must be an object"},
		{vigil.IntegrationSplunk, `{"sid":5}`, "sid", "must be a string"},
		{vigil.IntegrationTheHive, `{"type":"a","source":"b","sourceRef":"c","title":"t","severity":"high"}`, "severity", "must be a number"},
		{vigil.IntegrationTheHive, `{"type":"a","source":"b","sourceRef":"c","title":"t","date":{"ms":1}}`, "date", "must be a number"},
		{vigil.IntegrationTheHive, `{"type":"a","source":"b","sourceRef":"c","title":"t","tags":"x"}`, "tags", "must be an array"},
		{vigil.IntegrationTheHive, `{"type":"a","source":"b","sourceRef":"c","title":"t","observables":[{"dataType":"ip","data":"1.2.3.4"},{"dataType":5}]}`, "observables[1].dataType", "must be a string"},
	} {
		_, err := Parse(integration(tt.kind), []byte(tt.body))
		fields := vigil.ErrorFields(err)
		if vigil.ErrorCode(err) != vigil.EINVALID || len(fields) != 1 || fields[0].Field != tt.field || !strings.Contains(fields[0].Message, tt.says) {
			t.Errorf("%s %s: %v, want field %s saying %q", tt.kind, tt.body, err, tt.field, tt.says)
		}
	}
	// A payload that is not an object at all is still said to be so.
	_, err := Parse(integration(vigil.IntegrationWazuh), []byte(`"alert"`))
	if !strings.Contains(vigil.ErrorMessage(err), "not an object") || len(vigil.ErrorFields(err)) != 0 {
		t.Errorf("a string payload: %v", err)
	}
	// Levels as numbers or numeric strings still read.
	for _, lvl := range []string{`12`, `"12"`} {
		alerts, err := Parse(integration(vigil.IntegrationWazuh), []byte(`{"rule":{"level":`+lvl+`,"description":"x"}}`))
		if err != nil || alerts[0].Severity != vigil.SeverityCritical {
			t.Errorf("level %s: %v %v", lvl, err, alerts)
		}
	}
}

// TestUnreadableTimeIsAWarning: a time the parser cannot read does not
// refuse the alert, nor is it replaced silently: the alert takes the time
// it is received (a zero At) and says so in its warnings.
func TestUnreadableTimeIsAWarning(t *testing.T) {
	elastic := integration(vigil.IntegrationElastic)
	for _, tt := range []struct {
		kind   vigil.IntegrationKind
		in     *vigil.Integration
		body   string
		fields []string
	}{
		{vigil.IntegrationAlertmanager, nil, `{"version":"4","alerts":[{"labels":{"alertname":"A"},"startsAt":"yesterday","fingerprint":"f1"}]}`, []string{"startsAt"}},
		{vigil.IntegrationAlertmanager, nil, `{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"A"},"startsAt":"2026-03-01T09:00:00Z","endsAt":"soon","fingerprint":"f1"}]}`, []string{"endsAt"}},
		{vigil.IntegrationGrafana, nil, `{"alerts":[{"labels":{"alertname":"A"},"startsAt":"-5"}]}`, []string{"startsAt"}},
		{vigil.IntegrationWazuh, nil, `{"timestamp":"17/11/2022 19:17","rule":{"level":5,"description":"x"}}`, []string{"timestamp"}},
		{vigil.IntegrationSplunk, nil, `{"sid":"s1","search_name":"x","result":{"_time":"now"}}`, []string{"result._time"}},
		{vigil.IntegrationTheHive, nil, `{"type":"a","source":"b","sourceRef":"c","title":"t","date":"yesterday"}`, []string{"date"}},
		{vigil.IntegrationElastic, elastic, `{"context":{"title":"t"},"date":"Tuesday"}`, []string{"date"}},
	} {
		in := tt.in
		if in == nil {
			in = integration(tt.kind)
		}
		alerts, err := Parse(in, []byte(tt.body))
		if err != nil {
			t.Errorf("%s %s: refused: %v", tt.kind, tt.body, err)
			continue
		}
		a := alerts[0]
		var fields []string
		for _, w := range a.Warnings {
			fields = append(fields, w.Field)
			if !strings.Contains(w.Message, "received") {
				t.Errorf("%s: warning %q does not say what was done instead", tt.kind, w.Message)
			}
		}
		if !slices.Equal(fields, tt.fields) || !a.At.IsZero() && tt.fields[0] != "endsAt" || !a.EndedAt.IsZero() {
			t.Errorf("%s %s: warnings %v, at %v, ended %v; want warnings on %v and zero times", tt.kind, tt.body, a.Warnings, a.At, a.EndedAt, tt.fields)
		}
	}
}
