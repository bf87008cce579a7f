package vigil_test

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

// Duties are evaluated on every incident write: the profile's zone is
// loaded once, not read from the zone files each time.
func TestOrgProfileLocation(t *testing.T) {
	p := &vigil.OrgProfile{Timezone: "Europe/Paris"}
	a, err := p.Location()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Location()
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a.String() != "Europe/Paris" {
		t.Fatalf("Location() = %p %v, then %p %v; want one loaded Europe/Paris", a, a, b, b)
	}
	def, err := (&vigil.OrgProfile{}).Location()
	if err != nil || def.String() != "Europe/London" {
		t.Fatalf("default zone = %v, %v; want Europe/London", def, err)
	}
	for range 2 { // an unknown zone is an error every time, not cached
		if _, err := (&vigil.OrgProfile{Timezone: "Mars/Olympus"}).Location(); err == nil {
			t.Fatal("unknown zone accepted")
		}
	}
	if err := (&vigil.OrgProfile{Timezone: "Mars/Olympus"}).Validate(); err == nil {
		t.Fatal("Validate accepted an unknown zone")
	}
}
