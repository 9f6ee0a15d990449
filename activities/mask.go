package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/gateway"
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

// MaskTexts replaces every sensitive value in the texts by a same-shaped token, the same token
// for the same value across the whole scope (the vault).
func (a *Gateway) MaskTexts(_ context.Context, in MaskRequest) (MaskResult, error) {
	m, err := gateway.Masker(in.Options)
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
func (a *Gateway) UnmaskText(_ context.Context, in UnmaskRequest) (string, error) {
	return gateway.Unmask(in.Vault, in.Text, in.JSON), nil
}

// maskForLog masks a text with a throw-away vault (gateway.MaskForLog).
func maskForLog(text string) string { return gateway.MaskForLog(text) }
