package vigil_test

import (
	"slices"
	"testing"

	"github.com/vigil-ir/vigil"
)

func TestSuggestPlans(t *testing.T) {
	malware := &vigil.Plan{ID: 1, Definition: &vigil.PlanDefinition{Types: []vigil.IncidentType{vigil.TypeMalware}}}
	severe := &vigil.Plan{ID: 2, Definition: &vigil.PlanDefinition{Types: []vigil.IncidentType{vigil.TypeMalware},
		Severities: []vigil.Severity{vigil.SeverityHigh, vigil.SeverityCritical}}}
	phishing := &vigil.Plan{ID: 3, Definition: &vigil.PlanDefinition{Types: []vigil.IncidentType{vigil.TypePhishing}}}
	plans := []*vigil.Plan{malware, severe, phishing}
	for _, tt := range []struct {
		inc  vigil.Incident
		want []int64
	}{
		{vigil.Incident{Type: vigil.TypeMalware, Severity: vigil.SeverityHigh}, []int64{1, 2}},
		{vigil.Incident{Type: vigil.TypeMalware, Severity: vigil.SeverityLow}, []int64{1}},
		{vigil.Incident{Type: vigil.TypePhishing, Severity: vigil.SeverityCritical}, []int64{3}},
		{vigil.Incident{Type: vigil.TypeOther, Severity: vigil.SeverityCritical}, []int64{}},
	} {
		got := []int64{}
		for _, p := range vigil.SuggestPlans(plans, &tt.inc) {
			got = append(got, p.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("SuggestPlans(%s, %s) = %v, want %v", tt.inc.Type, tt.inc.Severity, got, tt.want)
		}
	}
	if got := vigil.SuggestPlans(nil, &vigil.Incident{}); got == nil {
		t.Error("SuggestPlans(nil) = nil, want an empty list (it is sent as JSON)")
	}
}
