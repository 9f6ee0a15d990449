package mask

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactSecrets(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Access denied for jdbc:mysql://real-db.example.com:3306/real_db?user=app&password=s3cr3t-pass; retry with s3cr3t-pass",
			"Access denied for jdbc:mysql://real-db.example.com:3306/real_db?user=app&password=[redacted]; retry with [redacted]"},
		{"postgres://app:Pa55word@10.0.0.5:5432/orders", "postgres://app:[redacted]@10.0.0.5:5432/orders"},
		{"jdbc:oracle:thin:scott/tiger@db1:1521:ORCL", "jdbc:oracle:thin:scott/[redacted]@db1:1521:ORCL"},
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz", "Authorization: Bearer [redacted]"},
		{"UPDATE users SET password = 'hunter2x' WHERE id = 7", "UPDATE users SET password = '[redacted]' WHERE id = 7"},
		{"aws key AKIAIOSFODNN7EXAMPLE in ap-northeast-2", "aws key [redacted] in ap-northeast-2"},
		{"no secret on db1.internal for alice@example.com", "no secret on db1.internal for alice@example.com"},
	} {
		require.Equal(t, c.want, (*Masker)(nil).RedactSecrets(c.in), c.in)
	}
}

func TestRedactSecretsJSON(t *testing.T) {
	doc := []byte(`{"message":"login as app/Zz9-secret failed","spans":[{"sql":"SELECT 1","url":"https://u:Zz9-secret@api.example.com/x"}],"n":12345678901234567890}`)
	out := (*Masker)(nil).RedactSecretsJSON(doc)
	require.True(t, json.Valid(out), string(out))
	require.NotContains(t, string(out), "Zz9-secret")
	require.Contains(t, string(out), "api.example.com")
	require.Contains(t, string(out), "12345678901234567890")
}

// TestRedactRecord: a password found in one text of a record is redacted where another repeats it
// in prose, where no recogniser would find it.
func TestRedactRecord(t *testing.T) {
	r := (*Masker)(nil).RedactRecord("The password Zz9-secret was refused.", `{"message":"jdbc:mysql://db:3306/x?password=Zz9-secret"}`)
	require.Equal(t, "The password [redacted] was refused.", r[0])
	require.Equal(t, `{"message":"jdbc:mysql://db:3306/x?password=[redacted]"}`, r[1])
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db:5432/x":               "postgres://app:xxxxx@db:5432/x",
		"http://u:p%zz@host:8080/v1":                    "http://u:xxxxx@host:8080/v1", // url.Parse rejects %zz
		"http://u:pass word@host/x?token=abc&a=1":       "http://u:xxxxx@host/x?token=xxxxx&a=1",
		"https://hooks.example.com/x?api_key=k1&page=2": "https://hooks.example.com/x?api_key=xxxxx&page=2",
		"http://[::1:bad/x?password=p":                  "http://[::1:bad/x?password=xxxxx",
		"not a url":                                     "not a url",
		"http://ok.example.com/path":                    "http://ok.example.com/path",
	} {
		require.Equal(t, want, RedactURL(in), in)
	}
}
