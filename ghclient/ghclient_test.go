package ghclient_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/ghclient/githubtest"
)

const (
	owner = "acme"
	repo  = "svc"
	token = "ghp_test"
)

var seed = map[string]string{
	"README.md":          "# svc\n",
	"cmd/svc/main.go":    "package main\n\nfunc main() {}\n",
	"internal/db/db.go":  "package db\n\nconst Pool = 10\n",
	"internal/db/sql.go": "package db\n",
}

func setup(t *testing.T) (*githubtest.Server, *ghclient.Client) {
	t.Helper()
	srv := githubtest.New(t, owner, repo, token, seed)
	c, err := ghclient.New(ghclient.Config{Token: token, APIURL: strings.TrimSuffix(srv.URL, "/")})
	require.NoError(t, err)
	return srv, c
}

func asError(t *testing.T, err error) *ghclient.Error {
	t.Helper()
	var e *ghclient.Error
	require.ErrorAs(t, err, &e)
	return e
}

func TestTreeAndRead(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()

	sha, paths, err := c.Tree(ctx, owner, repo, "main")
	require.NoError(t, err)
	require.Equal(t, srv.Head("main"), sha)
	require.Len(t, sha, 40)
	require.Equal(t, []string{"README.md", "cmd/svc/main.go", "internal/db/db.go", "internal/db/sql.go"}, paths)

	got, err := c.Read(ctx, owner, repo, "internal/db/db.go", sha)
	require.NoError(t, err)
	require.Equal(t, seed["internal/db/db.go"], got)
	got, err = c.Read(ctx, owner, repo, "README.md", "main")
	require.NoError(t, err)
	require.Equal(t, seed["README.md"], got)

	_, err = c.Read(ctx, owner, repo, "missing.go", "main")
	e := asError(t, err)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.False(t, e.Retryable)

	_, err = c.Read(ctx, owner, repo, "internal/db", "main")
	require.False(t, asError(t, err).Retryable)

	_, _, err = c.Tree(ctx, owner, repo, "nope")
	require.Equal(t, http.StatusNotFound, asError(t, err).Status)
}

func TestReadLargeFile(t *testing.T) {
	big := strings.Repeat("x", githubtest.MaxInline+10)
	srv := githubtest.New(t, owner, repo, token, map[string]string{"big.txt": big})
	c, err := ghclient.New(ghclient.Config{Token: token, APIURL: srv.URL})
	require.NoError(t, err)
	got, err := c.Read(context.Background(), owner, repo, "big.txt", "main")
	require.NoError(t, err)
	require.Equal(t, big, got)
}

func TestOpenPullRequestFlow(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	baseHead := srv.Head("main")
	files := []ghclient.FileChange{
		{Path: "internal/db/db.go", Content: "package db\n\nconst Pool = 20\n"},
		{Path: "internal/db/sql.go", Content: seed["internal/db/sql.go"]}, // unchanged
		{Path: "internal/db/db_test.go", Content: "package db\n"},         // new
	}

	pr, err := c.OpenPullRequest(ctx, owner, repo, "main", "vigil/tune-1", "Raise pool", "Because.", files)
	require.NoError(t, err)
	require.Equal(t, ghclient.PullRequest{Number: 1, URL: srv.URL + owner + "/" + repo + "/pull/1", Branch: "vigil/tune-1"}, pr)
	require.Equal(t, 2, srv.Commits(), "the unchanged file is not committed")
	require.Equal(t, []githubtest.PR{{Number: 1, Title: "Raise pool", Body: "Because.", Head: "vigil/tune-1", Base: "main"}}, srv.PullRequests())
	for _, f := range files {
		got, ok := srv.File("vigil/tune-1", f.Path)
		require.True(t, ok, f.Path)
		require.Equal(t, f.Content, got, f.Path)
	}

	// The base branch is untouched.
	require.Equal(t, baseHead, srv.Head("main"))
	got, _ := srv.File("main", "internal/db/db.go")
	require.Equal(t, seed["internal/db/db.go"], got)
	_, ok := srv.File("main", "internal/db/db_test.go")
	require.False(t, ok)

	// Again: the open PR is returned untouched, nothing committed.
	head := srv.Head("vigil/tune-1")
	files[0].Content = "package db\n\nconst Pool = 30\n"
	again, err := c.OpenPullRequest(ctx, owner, repo, "main", "vigil/tune-1", "Raise pool", "Because.", files)
	require.NoError(t, err)
	pr.Existing = true
	require.Equal(t, pr, again)
	require.Equal(t, 2, srv.Commits())
	require.Equal(t, head, srv.Head("vigil/tune-1"))
	require.Len(t, srv.PullRequests(), 1)
}

func TestOpenPullRequestResumesAfterFailure(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	files := []ghclient.FileChange{
		{Path: "README.md", Content: "# svc v2\n"},
		{Path: "cmd/svc/main.go", Content: "package main\n\nfunc main() { println() }\n"},
	}
	_, err := c.OpenPullRequest(ctx, owner, repo, "main", "fix", "Fix", "", files[:1])
	require.NoError(t, err)
	require.Equal(t, 1, srv.Commits())
	srv.ClosePullRequest(1)

	// A closed PR does not count. The branch exists and holds README
	// already: after a failed try, only main.go is committed.
	srv.FailNext(1, http.StatusBadGateway)
	_, err = c.OpenPullRequest(ctx, owner, repo, "main", "fix", "Fix", "", files)
	e := asError(t, err)
	require.True(t, e.Retryable)
	require.Equal(t, http.StatusBadGateway, e.Status)

	pr, err := c.OpenPullRequest(ctx, owner, repo, "main", "fix", "Fix", "", files)
	require.NoError(t, err)
	require.Equal(t, 2, pr.Number)
	require.False(t, pr.Existing)
	require.Equal(t, 2, srv.Commits())
	got, _ := srv.File("fix", "cmd/svc/main.go")
	require.Equal(t, files[1].Content, got)
}

func TestOpenPullRequestNoChanges(t *testing.T) {
	srv, c := setup(t)
	_, err := c.OpenPullRequest(context.Background(), owner, repo, "main", "same", "Nothing", "",
		[]ghclient.FileChange{{Path: "README.md", Content: seed["README.md"]}})
	e := asError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, e.Status)
	require.False(t, e.Retryable)
	require.Contains(t, e.Message, "No commits between")
	require.Zero(t, srv.Commits())
	require.Empty(t, srv.PullRequests())
}

func TestOpenPullRequestValidation(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	f := []ghclient.FileChange{{Path: "a.go", Content: "x"}}
	for name, call := range map[string]func() error{
		"no title":    func() error { _, err := c.OpenPullRequest(ctx, owner, repo, "main", "b", " ", "", f); return err },
		"same branch": func() error { _, err := c.OpenPullRequest(ctx, owner, repo, "main", "main", "t", "", f); return err },
		"no files":    func() error { _, err := c.OpenPullRequest(ctx, owner, repo, "main", "b", "t", "", nil); return err },
		"unclean path": func() error {
			_, err := c.OpenPullRequest(ctx, owner, repo, "main", "b", "t", "", []ghclient.FileChange{{Path: "../x"}})
			return err
		},
		"absolute path": func() error {
			_, err := c.OpenPullRequest(ctx, owner, repo, "main", "b", "t", "", []ghclient.FileChange{{Path: "/x"}})
			return err
		},
		"twice": func() error {
			_, err := c.OpenPullRequest(ctx, owner, repo, "main", "b", "t", "", append(f, f...))
			return err
		},
		"no owner": func() error { _, _, err := c.Tree(ctx, "", repo, "main"); return err },
		"no path":  func() error { _, err := c.Read(ctx, owner, repo, "", "main"); return err },
	} {
		e := asError(t, call())
		require.False(t, e.Retryable, name)
		require.Zero(t, e.Status, name)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("bad token", func(t *testing.T) {
		srv := githubtest.New(t, owner, repo, token, seed)
		c, err := ghclient.New(ghclient.Config{Token: "wrong", APIURL: srv.URL})
		require.NoError(t, err)
		_, _, err = c.Tree(ctx, owner, repo, "main")
		e := asError(t, err)
		require.Equal(t, http.StatusUnauthorized, e.Status)
		require.False(t, e.Retryable)
		require.Contains(t, e.Error(), "Bad credentials")
	})
	t.Run("500", func(t *testing.T) {
		srv, c := setup(t)
		srv.FailNext(1, http.StatusInternalServerError)
		_, err := c.Read(ctx, owner, repo, "README.md", "main")
		e := asError(t, err)
		require.Equal(t, http.StatusInternalServerError, e.Status)
		require.True(t, e.Retryable)
		_, err = c.Read(ctx, owner, repo, "README.md", "main")
		require.NoError(t, err)
	})
	t.Run("429", func(t *testing.T) {
		srv, c := setup(t)
		srv.FailNext(1, http.StatusTooManyRequests)
		_, _, err := c.Tree(ctx, owner, repo, "main")
		e := asError(t, err)
		require.Equal(t, http.StatusTooManyRequests, e.Status)
		require.True(t, e.Retryable)
		require.Equal(t, time.Second, e.RetryAfter)
	})
	t.Run("403 rate limit", func(t *testing.T) {
		srv, c := setup(t)
		srv.RateLimitNext(1)
		_, _, err := c.Tree(ctx, owner, repo, "main")
		e := asError(t, err)
		require.Equal(t, http.StatusForbidden, e.Status)
		require.True(t, e.Retryable)
		require.InDelta(t, time.Minute, e.RetryAfter, float64(2*time.Second))
	})
	t.Run("403 forbidden", func(t *testing.T) {
		srv, c := setup(t)
		srv.FailNext(1, http.StatusForbidden)
		_, _, err := c.Tree(ctx, owner, repo, "main")
		e := asError(t, err)
		require.Equal(t, http.StatusForbidden, e.Status)
		require.False(t, e.Retryable)
	})
	t.Run("connection refused", func(t *testing.T) {
		c, err := ghclient.New(ghclient.Config{Token: token, APIURL: "http://127.0.0.1:1/"})
		require.NoError(t, err)
		_, _, err = c.Tree(ctx, owner, repo, "main")
		e := asError(t, err)
		require.Zero(t, e.Status)
		require.True(t, e.Retryable)
	})
	t.Run("canceled", func(t *testing.T) {
		_, c := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := c.Tree(cctx, owner, repo, "main")
		require.False(t, asError(t, err).Retryable)
		require.True(t, errors.Is(err, context.Canceled))
	})
}

func TestNewValidation(t *testing.T) {
	for name, cfg := range map[string]ghclient.Config{
		"no token":        {},
		"blank token":     {Token: "  "},
		"token with nl":   {Token: "a\nb"},
		"relative URL":    {Token: "t", APIURL: "api.github.com"},
		"ftp URL":         {Token: "t", APIURL: "ftp://example.com/"},
		"unparsable URL":  {Token: "t", APIURL: "http://[::1"},
		"URL with query":  {Token: "t", APIURL: "https://example.com/api?x=1"},
		"URL with secret": {Token: "t", APIURL: "https://u:p@example.com/"},
	} {
		c, err := ghclient.New(cfg)
		require.Nil(t, c, name)
		e := asError(t, err)
		require.False(t, e.Retryable, name)
	}
	c, err := ghclient.New(ghclient.Config{Token: "t"})
	require.NoError(t, err)
	require.NotNil(t, c)
	c, err = ghclient.New(ghclient.Config{Token: "t", APIURL: "https://ghe.example.com/api/v3", HTTPClient: http.DefaultClient})
	require.NoError(t, err)
	require.NotNil(t, c)
}
