package stix

import "github.com/vigil-ir/vigil"

// tlpExtension is the STIX extension that defines TLP 2.0 markings
// (OASIS CTI TC, cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
const tlpExtension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// TLPMarkings are the official STIX 2.1 marking definitions of TLP 2.0,
// with their fixed ids: every producer uses these very objects.
var TLPMarkings = map[vigil.TLP]Object{
	vigil.TLPClear:       tlpMarking("94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear"),
	vigil.TLPGreen:       tlpMarking("bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green"),
	vigil.TLPAmber:       tlpMarking("55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber"),
	vigil.TLPAmberStrict: tlpMarking("939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT", "amber+strict"),
	vigil.TLPRed:         tlpMarking("e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red"),
}

func tlpMarking(uuid, name, level string) Object {
	return Object{
		"type": "marking-definition", "spec_version": SpecVersion, "id": "marking-definition--" + uuid,
		"created": "2022-10-01T00:00:00.000Z", "name": name,
		"extensions": map[string]any{tlpExtension: map[string]any{"extension_type": "property-extension", "tlp_2_0": level}},
	}
}

// TLPOf returns the TLP 2.0 label a marking-definition id stands for.
func TLPOf(markingID string) (vigil.TLP, bool) {
	for t, m := range TLPMarkings {
		if m.ID() == markingID {
			return t, true
		}
	}
	return "", false
}
