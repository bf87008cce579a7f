package duty

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-ir/vigil"
)

// Draft writes the report an obligation asks for, as Markdown ready to
// paste into the authority's form: what the incident record already says,
// under the headings of what the report must contain, with the gaps marked
// for the person who sends it.
func Draft(o *vigil.Obligation, inc *vigil.Incident, profile *vigil.OrgProfile, observables []*vigil.Observable) string {
	loc, err := profile.Location()
	if err != nil {
		loc = time.UTC
	}
	when := func(t *time.Time) string {
		if t == nil {
			return "_not recorded_"
		}
		return t.In(loc).Format("Monday 2 January 2006, 15:04 MST")
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s — %s", o.Title, o.StageName)
	if o.Round > 1 {
		fmt.Fprintf(&b, " (request %d)", o.Round)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "To: %s  \nBasis: %s  \n", o.Authority, o.Basis)
	if o.Source != "" {
		fmt.Fprintf(&b, "Source: <%s>  \n", o.Source)
	}
	if profile.Name != "" {
		fmt.Fprintf(&b, "From: %s  \n", profile.Name)
	}
	fmt.Fprintf(&b, "Our reference: %s\n\n", inc.Reference)
	b.WriteString("## What happened\n\n")
	fmt.Fprintf(&b, "%s\n\n", inc.Title)
	if s := strings.TrimSpace(inc.Summary); s != "" {
		fmt.Fprintf(&b, "%s\n\n", s)
	}
	fmt.Fprintf(&b, "- Type: %s; severity: %s", strings.ReplaceAll(string(inc.Type), "_", " "), inc.Severity)
	if inc.Category > 0 {
		fmt.Fprintf(&b, "; NCSC category %d", inc.Category)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- Occurred: %s\n- Detected: %s\n- We became aware: %s\n", when(inc.Times.OccurredAt), when(inc.Times.DetectedAt), when(inc.Times.AwareAt))
	if inc.Times.ContainedAt != nil {
		fmt.Fprintf(&b, "- Contained: %s\n", when(inc.Times.ContainedAt))
	}
	fmt.Fprintf(&b, "- Personal data involved: %s; essential service affected: %s; digital service substantially affected: %s; crime suspected: %s; significant cyber threat: %s\n",
		yesNo(inc.PersonalData), yesNo(inc.EssentialService), yesNo(inc.DigitalServiceImpact), yesNo(inc.CrimeSuspected), yesNo(inc.SignificantCyberThreat))
	if len(inc.AffectedServices) > 0 {
		fmt.Fprintf(&b, "- Services affected: %s\n", strings.Join(inc.AffectedServices, ", "))
	}
	var iocs []string
	for _, ob := range observables {
		if ob.IOC && ob.TLP.Rank() <= vigil.TLPAmber.Rank() {
			iocs = append(iocs, fmt.Sprintf("%s `%s`", ob.Type, ob.Value))
		}
	}
	if len(iocs) > 0 {
		fmt.Fprintf(&b, "- Indicators of compromise: %s\n", strings.Join(iocs, "; "))
	}
	if len(o.Content) > 0 {
		b.WriteString("\n## What the report must contain\n\n")
		for _, c := range o.Content {
			fmt.Fprintf(&b, "### %s\n\n_To complete._\n\n", c)
		}
	}
	if o.Contact == "dpo" || strings.Contains(o.Authority, "ICO") {
		dpo := profile.DPO
		if dpo == "" {
			dpo = "_name and contact details of the DPO or other contact point_"
		}
		fmt.Fprintf(&b, "## Contact\n\n%s\n\n", dpo)
	}
	if o.DueAt != nil && time.Now().After(*o.DueAt) {
		b.WriteString("## Reasons for the delay\n\n_This report is late: say why._\n")
	}
	return b.String()
}
