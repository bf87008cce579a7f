package vigil

// Enumerations are plain strings in JSON. Decoding accepts any string and
// Validate methods reject unknown values naming the field, because an error
// from a custom UnmarshalJSON reaches encoding/json's caller without the
// field's path.

func inEnum[T ~string](v T, vs []T) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
