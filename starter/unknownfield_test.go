package starter

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/llm"
	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/workflows"
)

// The bodies decoded strictly, each with a fresh value of its type.
var strictBodies = []func() any{
	func() any { return new(change.Deployment) },
	func() any { return new(workflows.DeploymentEvent) },
	func() any {
		return new(struct {
			roles.Role
			Comment string `json:"comment,omitempty"`
		})
	},
	func() any { return new(InvokeRequest) },
	func() any {
		return new(struct {
			By string `json:"by"`
		})
	},
}

// sameAsDisallowUnknownFields checks checkKnownFields against encoding/json's own
// DisallowUnknownFields: for a body that decodes, both refuse the same key, or neither does.
func sameAsDisallowUnknownFields(t *testing.T, newV func() any, body []byte) {
	t.Helper()
	if json.Unmarshal(body, newV()) != nil {
		return // a syntax or type error comes first
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	want := dec.Decode(newV())
	got := checkKnownFields(body, newV())
	if want == nil {
		require.NoError(t, got, "%T: %s", newV(), body)
		return
	}
	var uf *unknownFieldError
	require.ErrorAs(t, got, &uf, "%T: %s: encoding/json says %v", newV(), body, want)
	require.Equal(t, want.Error(), got.Error(), "%T: %s", newV(), body)
}

func TestUnknownFieldLikeEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"id":"d-1","plannedAt":"2026-01-02T03:04:05Z","applications":[{"id":"a1","name":"x"}]}`,
		`{"id":"d-1","plannedat":"2026-01-02T03:04:05Z","APPLICATIONS":[]}`,
		`{"id":"d-1","applications":[{"id":"a1","name":"x","nmae":"y"}]}`,
		`{"id":"d-1","extra":{"a":[1,{"b":2}]},"later":1}`,
		`{"type":"finished","at":"2026-01-02T03:04:05Z","oops":true}`,
		`{"code":"x1","system_message":"s","chain":[{"provider":"builtin","model":"analyst"}],"temprature":1}`,
		`{"code":"x1","comment":"c","parameters":{"temperature":0.5,"topp":1}}`,
		`{"code":"x1","response_format":{"type":"json_schema","schema":{"anything":{"goes":1}}}}`,
		`{"messages":[{"role":"user","content":"hi","extra":1}]}`,
		`{"messages":[{"role":"user","content":"hi"}],"parameters":{"max_tokens":5}}`,
		`{"by":"Kim","By":"Lee"}`,
		`{"BY":"Kim"}`,
		`{"by":"Kim","via":"api"}`,
		`null`,
		`[]`,
	}
	for _, newV := range strictBodies {
		for _, b := range bodies {
			sameAsDisallowUnknownFields(t, newV, []byte(b))
		}
	}
}

func FuzzUnknownField(f *testing.F) {
	f.Add(0, []byte(`{"id":"d-1","applications":[{"id":"a1","name":"x","nmae":"y"}]}`))
	f.Add(2, []byte(`{"code":"x1","parameters":{"temperature":0.5},"temprature":1}`))
	f.Add(3, []byte(`{"messages":[{"role":"user","content":"hi","extra":1}]}`))
	f.Add(4, []byte(`{"by":"Kim","via":"api"}`))
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		if which < 0 {
			which = -which
		}
		sameAsDisallowUnknownFields(t, strictBodies[which%len(strictBodies)], body)
	})
}

// An unknown field is a 400 naming the field, as before, with the decoder's detail.
func TestDecodeStrictNamesTheUnknownField(t *testing.T) {
	rec := httptest.NewRecorder()
	var in struct {
		By string `json:"by"`
	}
	require.False(t, decodeStrict(rec, []byte(`{"by":"Kim","via":"api"} `), &in))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	var p Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Equal(t, Problem{Type: "about:blank", Title: "Malformed JSON", Status: http.StatusBadRequest,
		Detail: `json: unknown field "via"`, Errors: []ProblemField{{Field: "via", Message: "unknown field"}}}, p)

	err := decodeJSON([]byte(`{"by":"Kim"} {}`), &in, true)
	require.True(t, errors.Is(err, errTrailingData), "trailing data is still refused: %v", err)
	require.NoError(t, decodeJSON([]byte(`{"by":"Kim","via":"api"}`), &in, false))
	require.Equal(t, reflect.TypeFor[*unknownFieldError](), reflect.TypeOf(decodeJSON([]byte(`{"x":1}`), &in, true)))
}

// A body with several faults reports them in the same order as ever (the one-pass decode of
// the common case hands every error back to the two-pass check): a type error before an
// unknown field, an unknown field before trailing data; a good body decodes in full.
func TestDecodeStrictErrorOrder(t *testing.T) {
	var in InvokeRequest
	var te *json.UnmarshalTypeError
	require.ErrorAs(t, decodeJSON([]byte(`{"nope":1,"messages":[{"role":1}]}`), &in, true), &te)
	require.Equal(t, "messages.role", te.Field)
	var uf *unknownFieldError
	require.ErrorAs(t, decodeJSON([]byte(`{"messages":[{"role":"user","content":"x","extra":1}]} {}`), &in, true), &uf)
	require.Equal(t, "extra", uf.Field)
	in = InvokeRequest{}
	require.NoError(t, decodeJSON([]byte(`{"messages":[{"role":"user","content":"x"}],"Subject":"s"}`), &in, true))
	require.Equal(t, InvokeRequest{Messages: []llm.Message{{Role: "user", Content: "x"}}, Subject: "s"}, in)
}
