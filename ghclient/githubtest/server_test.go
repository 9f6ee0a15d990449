package githubtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/ghclient/githubtest"
)

func do(t *testing.T, s *githubtest.Server, auth, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestWireErrors(t *testing.T) {
	s := githubtest.New(t, "o", "r", "tok", map[string]string{"a.txt": "A"})
	code, m := do(t, s, "Bearer nope", "GET", "repos/o/r/git/ref/heads/main", "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "Bad credentials", m["message"])

	code, m = do(t, s, "token tok", "GET", "repos/o/r/git/refs/heads/main", "")
	require.Equal(t, http.StatusOK, code)
	head := m["object"].(map[string]any)["sha"].(string)
	require.Equal(t, s.Head("main"), head)

	code, m = do(t, s, "token tok", "POST", "repos/o/r/git/refs", `{"ref":"refs/heads/main","sha":"`+head+`"}`)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, "Reference already exists", m["message"])

	put := func(sha string) int {
		code, _ := do(t, s, "Bearer tok", "PUT", "repos/o/r/contents/a.txt",
			`{"message":"m","content":"`+base64.StdEncoding.EncodeToString([]byte("B"))+`","sha":"`+sha+`"}`)
		return code
	}
	require.Equal(t, http.StatusUnprocessableEntity, put(""))
	require.Equal(t, http.StatusConflict, put(strings.Repeat("0", 40)))
	_, m = do(t, s, "Bearer tok", "GET", "repos/o/r/contents/a.txt?ref=main", "")
	require.Equal(t, http.StatusOK, put(m["sha"].(string)))
	got, _ := s.File("main", "a.txt")
	require.Equal(t, "B", got)
	require.Equal(t, 1, s.Commits())

	code, _ = do(t, s, "Bearer tok", "GET", "repos/o/r/pulls?head=main", "")
	require.Equal(t, http.StatusUnprocessableEntity, code)

	s.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		code, _ = do(t, s, "Bearer tok", "GET", "repos/o/r/branches/main", "")
		require.Equal(t, http.StatusServiceUnavailable, code)
	}
	code, _ = do(t, s, "Bearer tok", "GET", "repos/o/r/branches/main", "")
	require.Equal(t, http.StatusOK, code)
}
