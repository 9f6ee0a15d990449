package gateway

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"

	"github.com/vigil-ops/vigil/mask"
)

// maskers caches compiled maskers by their options.
var maskers sync.Map // [32]byte -> *mask.Masker

// defaultMasker is the masker of empty options, which most roles have: found without encoding
// and hashing the options on every call.
var defaultMasker = sync.OnceValues(func() (*mask.Masker, error) { return mask.New(mask.Options{}) })

// Masker returns the (cached) masker of a role's masking options.
func Masker(o mask.Options) (*mask.Masker, error) {
	if len(o.InternalSuffixes) == 0 && len(o.Custom) == 0 && len(o.Disable) == 0 {
		return defaultMasker()
	}
	b, _ := json.Marshal(o)
	key := sha256.Sum256(b)
	if m, ok := maskers.Load(key); ok {
		return m.(*mask.Masker), nil
	}
	m, err := mask.New(o)
	if err != nil {
		return nil, err
	}
	maskers.Store(key, m)
	return m, nil
}

// Unmask restores the original values of every token of the vault that the answer contains.
// A JSON answer (a json_object or json_schema role) has its values restored inside its strings
// and re-escaped, so that an original with a quote or a backslash keeps the JSON valid.
func Unmask(vault *mask.Vault, text string, isJSON bool) string {
	if isJSON {
		var v any
		if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &v); err == nil {
			if b, err := json.Marshal(unmaskJSON(vault, v)); err == nil {
				return string(b)
			}
		}
	}
	return mask.Unmask(vault, text)
}

// unmaskJSON restores the original values in every string (keys included) of a decoded JSON value.
func unmaskJSON(vault *mask.Vault, v any) any {
	switch x := v.(type) {
	case string:
		return mask.Unmask(vault, x)
	case []any:
		for i := range x {
			x[i] = unmaskJSON(vault, x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[mask.Unmask(vault, k)] = unmaskJSON(vault, val)
		}
		return out
	}
	return v
}

// MaskForLog masks a text with a throw-away vault, for the usage log of answers that were never
// masked (the built-in analyst works on the original data and never leaves the process).
func MaskForLog(text string) string {
	m, err := Masker(mask.Options{})
	if err != nil {
		return ""
	}
	return m.Mask(mask.NewVault(), text)
}
