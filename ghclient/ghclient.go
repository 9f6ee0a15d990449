package ghclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/go-github/v62/github"
)

// DefaultAPIURL is the GitHub REST API a [Config] without APIURL uses.
const DefaultAPIURL = "https://api.github.com/"

// DefaultTimeout is the per-request timeout of the HTTP client a [Config]
// without HTTPClient gets.
const DefaultTimeout = 30 * time.Second

// Config configures a [Client].
type Config struct {
	// Token is a GitHub token (required): a fine-grained or classic personal
	// access token or an installation token with contents and pull request
	// write access to the repository.
	Token string
	// APIURL is the REST API's base URL; "" means [DefaultAPIURL]. A
	// trailing slash is added when missing (GitHub Enterprise:
	// "https://host/api/v3/").
	APIURL string
	// HTTPClient makes the requests; nil means a client with
	// [DefaultTimeout].
	HTTPClient *http.Client
}

// Client reads branches and opens pull requests through GitHub's REST API.
// It is safe for concurrent use.
type Client struct {
	gh *github.Client
}

// New returns a Client for c, or an [*Error] when c is invalid.
func New(c Config) (*Client, error) {
	token := strings.TrimSpace(c.Token)
	if token == "" {
		return nil, invalid("Config.Token is required")
	}
	if strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return nil, invalid("Config.Token contains white space or control characters")
	}
	api := c.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, invalid("Config.APIURL %q is not an http(s) URL without user, query or fragment", c.APIURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	gh := github.NewClient(hc).WithAuthToken(token)
	gh.BaseURL = u
	return &Client{gh: gh}, nil
}

// Tree returns the head commit SHA of branch and every file path in it
// (git trees API, recursive), sorted. Directories and submodules are not
// listed. A tree too large for one answer (truncated) is an error.
func (c *Client) Tree(ctx context.Context, owner, repo, branch string) (headSHA string, paths []string, err error) {
	branch = trimBranch(branch)
	if err := required("owner", owner, "repo", repo, "branch", branch); err != nil {
		return "", nil, err
	}
	sha, err := c.head(ctx, owner, repo, branch)
	if err != nil {
		return "", nil, err
	}
	t, _, err := c.gh.Git.GetTree(ctx, owner, repo, sha, true)
	if err != nil {
		return "", nil, classify("get tree of "+owner+"/"+repo+"@"+branch, err)
	}
	if t.GetTruncated() {
		return "", nil, invalid("tree of %s/%s@%s is too large: GitHub truncated it", owner, repo, branch)
	}
	paths = make([]string, 0, len(t.Entries))
	for _, e := range t.Entries {
		if e.GetType() == "blob" && e.GetPath() != "" {
			paths = append(paths, e.GetPath())
		}
	}
	sort.Strings(paths)
	return sha, paths, nil
}

// Read returns the content of path at ref (a branch, tag or commit SHA; ""
// means the default branch) with the contents API, base64-decoded; files
// over 1 MB are read as raw blobs. A missing file is an [*Error] with
// Status 404.
func (c *Client) Read(ctx context.Context, owner, repo, path, ref string) (string, error) {
	if err := required("owner", owner, "repo", repo, "path", path); err != nil {
		return "", err
	}
	if err := checkPath(path); err != nil {
		return "", err
	}
	content, _, err := c.file(ctx, owner, repo, path, ref)
	return content, err
}

// FileChange is the new content of one file.
type FileChange struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// PullRequest is an opened (or already open) pull request.
type PullRequest struct {
	// Number is the pull request's number in the repository.
	Number int `json:"number"`
	// URL is the pull request's web page.
	URL string `json:"url"`
	// Branch is the pull request's head branch.
	Branch string `json:"branch"`
	// Existing is true when the pull request was open already and was
	// returned untouched.
	Existing bool `json:"existing,omitempty"`
}

// OpenPullRequest is idempotent by branch name: if an open PR with
// head=branch exists it is returned (Existing=true) untouched. Otherwise it
// creates branch from base's head (if the branch does not exist yet),
// writes each file on the branch with the contents API (create, or update
// with the file's current SHA on the branch; commit message
// "vigil: <title>: <path>"), skipping files whose content is already
// equal, and opens the PR base ← branch with title and body.
//
// A call that failed part way can be repeated: it continues from what the
// branch already holds. When no file differs from base GitHub refuses the
// pull request (422, "No commits between ...").
func (c *Client) OpenPullRequest(ctx context.Context, owner, repo, base, branch, title, body string, files []FileChange) (PullRequest, error) {
	base, branch = trimBranch(base), trimBranch(branch)
	if err := required("owner", owner, "repo", repo, "base", base, "branch", branch, "title", strings.TrimSpace(title)); err != nil {
		return PullRequest{}, err
	}
	if base == branch {
		return PullRequest{}, invalid("branch and base are both %q", base)
	}
	if len(files) == 0 {
		return PullRequest{}, invalid("no files to change")
	}
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return PullRequest{}, err
		}
		if seen[f.Path] {
			return PullRequest{}, invalid("file %q is listed twice", f.Path)
		}
		seen[f.Path] = true
	}

	if pr, ok, err := c.findPR(ctx, owner, repo, base, branch); err != nil || ok {
		return pr, err
	}

	if _, err := c.head(ctx, owner, repo, branch); err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound {
			return PullRequest{}, err
		}
		baseSHA, err := c.head(ctx, owner, repo, base)
		if err != nil {
			return PullRequest{}, err
		}
		ref := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(baseSHA)}}
		if _, _, err := c.gh.Git.CreateRef(ctx, owner, repo, ref); err != nil && statusOf(err) != http.StatusUnprocessableEntity {
			// 422: the branch was created meanwhile ("Reference already exists").
			return PullRequest{}, classify("create branch "+branch+" of "+owner+"/"+repo, err)
		}
	}

	for _, f := range files {
		cur, sha, err := c.file(ctx, owner, repo, f.Path, branch)
		exists := err == nil
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusNotFound {
				return PullRequest{}, err
			}
		}
		if exists && cur == f.Content {
			continue
		}
		opts := &github.RepositoryContentFileOptions{
			Message: github.String("vigil: " + title + ": " + f.Path),
			Content: []byte(f.Content),
			Branch:  github.String(branch),
		}
		op := "create "
		if exists {
			op = "update "
			opts.SHA = github.String(sha)
			_, _, err = c.gh.Repositories.UpdateFile(ctx, owner, repo, f.Path, opts)
		} else {
			_, _, err = c.gh.Repositories.CreateFile(ctx, owner, repo, f.Path, opts)
		}
		if err != nil {
			return PullRequest{}, classify(op+f.Path+" on "+owner+"/"+repo+"@"+branch, err)
		}
	}

	pr, _, err := c.gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String(title),
		Head:  github.String(branch),
		Base:  github.String(base),
		Body:  github.String(body),
	})
	if err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity {
			// Perhaps opened meanwhile ("A pull request already exists").
			if pr, ok, ferr := c.findPR(ctx, owner, repo, base, branch); ferr == nil && ok {
				return pr, nil
			}
		}
		return PullRequest{}, classify("open pull request "+base+" <- "+branch+" on "+owner+"/"+repo, err)
	}
	return PullRequest{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), Branch: branch}, nil
}

// findPR returns the open pull request with head branch, preferring one
// into base.
func (c *Client) findPR(ctx context.Context, owner, repo, base, branch string) (PullRequest, bool, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{
		State: "open",
		Head:  owner + ":" + branch,
	})
	if err != nil {
		return PullRequest{}, false, classify("list pull requests of "+owner+"/"+repo+" from "+branch, err)
	}
	var found *github.PullRequest
	for _, pr := range prs {
		if pr.GetState() != "" && pr.GetState() != "open" || pr.GetHead().GetRef() != "" && pr.GetHead().GetRef() != branch {
			continue
		}
		if found == nil || pr.GetBase().GetRef() == base && found.GetBase().GetRef() != base {
			found = pr
		}
	}
	if found == nil {
		return PullRequest{}, false, nil
	}
	return PullRequest{Number: found.GetNumber(), URL: found.GetHTMLURL(), Branch: branch, Existing: true}, true, nil
}

// head returns the commit SHA branch points at.
func (c *Client) head(ctx context.Context, owner, repo, branch string) (string, error) {
	ref, _, err := c.gh.Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if err != nil {
		return "", classify("get branch "+branch+" of "+owner+"/"+repo, err)
	}
	sha := ref.GetObject().GetSHA()
	if sha == "" || ref.GetObject().GetType() != "" && ref.GetObject().GetType() != "commit" {
		return "", invalid("branch %s of %s/%s does not point at a commit", branch, owner, repo)
	}
	return sha, nil
}

// file returns the content and blob SHA of path at ref.
func (c *Client) file(ctx context.Context, owner, repo, path, ref string) (content, sha string, err error) {
	op := "read " + path + " of " + owner + "/" + repo
	if ref != "" {
		op += "@" + ref
	}
	fc, dir, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return "", "", classify(op, err)
	}
	if fc == nil {
		if dir != nil {
			return "", "", invalid("%s: is a directory", op)
		}
		return "", "", invalid("%s: empty answer", op)
	}
	if t := fc.GetType(); t != "" && t != "file" {
		return "", "", invalid("%s: is a %s, not a file", op, t)
	}
	if fc.GetEncoding() == "none" && fc.GetSHA() != "" {
		// Over 1 MB: the contents API leaves the content out.
		raw, _, err := c.gh.Git.GetBlobRaw(ctx, owner, repo, fc.GetSHA())
		if err != nil {
			return "", "", classify(op, err)
		}
		return string(raw), fc.GetSHA(), nil
	}
	s, err := fc.GetContent()
	if err != nil {
		return "", "", &Error{Message: op + ": " + err.Error(), err: err}
	}
	return s, fc.GetSHA(), nil
}

// trimBranch accepts "refs/heads/x" for branch x.
func trimBranch(b string) string { return strings.TrimPrefix(b, "refs/heads/") }

// required checks name/value pairs for empty values.
func required(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			return invalid("%s is required", kv[i])
		}
	}
	return nil
}

// checkPath accepts a clean relative file path.
func checkPath(p string) error {
	if p == "" || p != path.Clean(p) || strings.HasPrefix(p, "/") || p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") {
		return invalid("file path %q is not a clean relative path", p)
	}
	return nil
}
