package activities

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/mask"
)

// MaskRequest asks for texts to be masked within one scope.
type MaskRequest struct {
	// Vault is the scope's value↔token map so far (nil = empty); the result extends it.
	Vault   *mask.Vault  `json:"vault,omitempty"`
	Texts   []string     `json:"texts"`
	Options mask.Options `json:"options"`
}

// MaskResult holds the masked texts, in order, and the extended vault.
type MaskResult struct {
	Texts []string    `json:"texts"`
	Vault *mask.Vault `json:"vault"`
}

// maskers caches compiled maskers by their options.
var maskers sync.Map // [32]byte -> *mask.Masker

func masker(o mask.Options) (*mask.Masker, error) {
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

// MaskTexts replaces every sensitive value in the texts by a same-shaped token, the same token
// for the same value across the whole scope (the vault).
func (a *Activities) MaskTexts(_ context.Context, in MaskRequest) (MaskResult, error) {
	m, err := masker(in.Options)
	if err != nil {
		return MaskResult{}, temporal.NewNonRetryableApplicationError("masking options: "+err.Error(), "InvalidMasking", err)
	}
	v := in.Vault
	if v == nil {
		v = mask.NewVault()
	}
	out := make([]string, len(in.Texts))
	for i, t := range in.Texts {
		out[i] = m.Mask(v, t)
	}
	return MaskResult{Texts: out, Vault: v}, nil
}

// UnmaskRequest asks for the tokens of a scope to be restored in a text.
type UnmaskRequest struct {
	Vault *mask.Vault `json:"vault"`
	Text  string      `json:"text"`
	// JSON says the text is a JSON answer (a json_object or json_schema role): the values are
	// restored inside its strings and re-escaped, so that an original with a quote or a
	// backslash keeps the JSON valid.
	JSON bool `json:"json,omitempty"`
}

// UnmaskText restores the original values of every token the text contains.
func (a *Activities) UnmaskText(_ context.Context, in UnmaskRequest) (string, error) {
	if in.JSON {
		var v any
		if err := json.Unmarshal([]byte(strings.TrimSpace(in.Text)), &v); err == nil {
			b, err := json.Marshal(unmaskJSON(in.Vault, v))
			if err == nil {
				return string(b), nil
			}
		}
	}
	return mask.Unmask(in.Vault, in.Text), nil
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

// maskForLog masks a text with a throw-away vault, for the usage log of answers that were never
// masked (the built-in analyst works on the original data and never leaves the process).
func maskForLog(text string) string {
	m, err := masker(mask.Options{})
	if err != nil {
		return ""
	}
	return m.Mask(mask.NewVault(), text)
}
