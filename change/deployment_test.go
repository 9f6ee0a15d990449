package change

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// Release systems send numeric application IDs: {"id": 101} is accepted and kept as "101",
// exactly as sent (no float formatting), and encodes back as a string.
func TestAppIDAcceptsNumbers(t *testing.T) {
	for body, want := range map[string]AppID{
		`{"id": 101, "name": "checkout"}`:               "101",
		`{"id": "app-7", "name": "catalog"}`:            "app-7",
		`{"id": 12345678901234567890, "name": "big"}`:   "12345678901234567890",
		`{"id": 1.5e3, "name": "odd but a number"}`:     "1.5e3",
		`{"id": "", "name": "empty is caught later"}`:   "",
		`{"id": -3, "name": "negative is still an ID"}`: "-3",
	} {
		var a Application
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&a), body)
		require.Equal(t, want, a.ID, body)
	}
	for _, body := range []string{`{"id": true}`, `{"id": null}`, `{"id": {"x": 1}}`, `{"id": [1]}`} {
		var a Application
		err := json.Unmarshal([]byte(body), &a)
		require.Error(t, err, body)
		var te *json.UnmarshalTypeError
		require.ErrorAs(t, err, &te, body)
	}
	b, err := json.Marshal(Application{ID: "101", Name: "checkout"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"101","name":"checkout"}`, string(b))
}
