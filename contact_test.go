package vigil_test

import (
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestContactsFor(t *testing.T) {
	dpo := &vigil.Contact{Name: "Dana", Roles: []vigil.ContactRole{vigil.ContactDPO}, Phone: "1"}
	cir := &vigil.Contact{Organisation: "CIR Ltd", Roles: []vigil.ContactRole{vigil.ContactCIRSupplier, vigil.ContactITOperations}, Phone: "2"}
	ncsc := &vigil.Contact{Name: "Our NCSC contact", Roles: []vigil.ContactRole{vigil.ContactNCSC}, Email: "x@example.org"}
	duties := []*vigil.Obligation{
		{Status: vigil.ObligationPending, Contact: "ico"},
		{Status: vigil.ObligationPending, Contact: "ncsc"},
		{Status: vigil.ObligationSubmitted, Contact: "report_fraud"},
	}
	got := vigil.ContactsFor([]*vigil.Contact{ncsc, cir, dpo}, duties)
	names := map[string]bool{}
	for _, c := range got {
		names[c.Name+c.Organisation] = true
	}
	// The response team, our own NCSC contact rather than the public route,
	// the ICO's public route, and nothing for the submitted Report Fraud duty.
	for _, want := range []string{"Dana", "CIR Ltd", "Our NCSC contact", "Information Commissioner's Office (ICO)"} {
		if !names[want] {
			t.Errorf("missing %s in %v", want, names)
		}
	}
	if names["National Cyber Security Centre (NCSC)"] || names["Report Fraud"] || len(got) != 4 {
		t.Errorf("unexpected contacts: %v", names)
	}
	if got[0] != dpo {
		t.Errorf("the DPO should come first, got %+v", got[0])
	}
}
