package tests

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/llm/llmtest"
	"github.com/vigil-ops/vigil/tests/testenv"
)

// openAINode returns the directory of the openai npm package check (tests/testdata/openai-node)
// and node's path; without node or the installed package the test fails in CI and is skipped
// elsewhere, saying how to get them.
func openAINode(t *testing.T) (dir, node string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "openai-node"))
	require.NoError(t, err)
	node, err = exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (the official openai npm package is checked with it): apt-get install nodejs npm, then (cd tests/testdata/openai-node && npm ci)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		testenv.Missing(t, "the openai npm package is not installed: (cd tests/testdata/openai-node && npm ci) — .ci/run does it")
	}
	return dir, node
}

type nodeResult struct {
	Models []string `json:"models"`
	Text   string   `json:"text"`
	Chunks []string `json:"chunks"`
	Finish string   `json:"finish"`
	Usage  *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error *struct {
		Name    string `json:"name"`
		Status  *int   `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestOpenAICompatibleEndpointWithTheOfficialClient drives POST /v1/chat/completions and GET
// /v1/models with the official openai npm package (a client nobody here wrote), with and without
// streaming: the role's masking applies (a host split across two streamed chunks comes back
// whole), a failing first link falls back before the first token, a failure after it reaches
// the client as an error, an unknown role is the SDK's NotFoundError.
func TestOpenAICompatibleEndpointWithTheOfficialClient(t *testing.T) {
	dir, node := openAINode(t)
	llmSrv := llmtest.NewServer(t)
	_, base := testenv.StartDev(t, testenv.DevConfig(t, func(c *config.Config) {
		gatewayConfigRPM(llmSrv.URL, 0)(c)
		c.Auth.APIKeys = []config.APIKey{{Client: "sdk", Org: "acme", KeyHash: config.HashAPIKey("sdk-key")}}
	}))
	apiKey = "sdk-key"
	t.Cleanup(func() { apiKey = "" })
	code, out, _ := post(t, base+"/v1/roles", []byte(`{"code": "gw-chat", "name": "Chat", "system_message": "Answer briefly.",
	  "chain": [{"provider": "local", "model": "model-a", "attempts": 1, "timeout": "5s"},
	            {"provider": "local", "model": "model-b", "attempts": 1, "timeout": "5s"}]}`))
	require.Equal(t, http.StatusCreated, code, string(out))

	run := func(which string) nodeResult {
		t.Helper()
		cmd := exec.Command(node, "check.mjs", base+"/v1", "sdk-key", which)
		cmd.Dir = dir
		raw, err := cmd.CombinedOutput()
		require.NoError(t, err, string(raw))
		var res nodeResult
		require.NoError(t, json.Unmarshal(raw, &res), string(raw))
		return res
	}
	hostToken := regexp.MustCompile(`Why is (\S+) slow\?`)
	// The upstream sees the masked host only; it answers quoting it, split in two chunks.
	var modelA atomic.Value // "", "down", "breaks"
	modelA.Store("")
	llmSrv.SetHandler(func(r llmtest.Received) llmtest.Reply {
		last := r.Messages[len(r.Messages)-1].Content
		if strings.Contains(last, "db-7.payments") {
			return llmtest.Text("the original host reached the upstream")
		}
		mode := modelA.Load().(string)
		if r.Model == "model-a" && mode == "down" {
			return llmtest.Errorf(500, "server_error", "down")
		}
		m := hostToken.FindStringSubmatch(last)
		if m == nil {
			return llmtest.Text("no host in " + last)
		}
		tok := m[1]
		rep := llmtest.Text("It is " + tok + " that is slow.")
		rep.Chunks = []string{"It is " + tok[:4], tok[4:] + " that", " is slow."}
		if r.Model == "model-a" && mode == "breaks" {
			rep.BreakAfter = 1
		}
		return rep
	})

	t.Run("models lists the roles", func(t *testing.T) {
		res := run("models")
		require.Nil(t, res.Error)
		require.Contains(t, res.Models, "gw-chat")
		require.Contains(t, res.Models, "alert-analyst")
	})
	t.Run("a completion, unmasked", func(t *testing.T) {
		res := run("complete")
		require.Nil(t, res.Error)
		require.Equal(t, "It is db-7.payments.example.com that is slow.", res.Text)
		require.Equal(t, "stop", res.Finish)
		require.NotNil(t, res.Usage)
		require.Positive(t, res.Usage.PromptTokens)
		last := llmSrv.Requests()[llmSrv.Count()-1]
		require.Contains(t, string(last.Body), `"temperature":0.1`, "the caller's parameters reach the upstream")
	})
	t.Run("a stream, unmasked across chunks", func(t *testing.T) {
		res := run("stream")
		require.Nil(t, res.Error)
		require.Equal(t, "It is db-7.payments.example.com that is slow.", res.Text)
		require.Greater(t, len(res.Chunks), 1, "streamed in pieces")
		require.Equal(t, "stop", res.Finish)
		require.NotNil(t, res.Usage)
	})
	t.Run("a stream falls back before the first token", func(t *testing.T) {
		modelA.Store("down")
		defer modelA.Store("")
		before := llmSrv.Count()
		res := run("stream")
		require.Nil(t, res.Error)
		require.Equal(t, "It is db-7.payments.example.com that is slow.", res.Text)
		reqs := llmSrv.Requests()[before:]
		require.Len(t, reqs, 2)
		require.Equal(t, "model-b", reqs[1].Model)
	})
	t.Run("a stream broken after the first token ends in an error", func(t *testing.T) {
		modelA.Store("breaks")
		defer modelA.Store("")
		before := llmSrv.Count()
		res := run("stream")
		require.NotNil(t, res.Error, "never a silent success: %+v", res)
		require.Contains(t, res.Error.Message, "broke off")
		require.NotContains(t, res.Text, "that is slow", "the stream stopped")
		require.Equal(t, 1, llmSrv.Count()-before, "no fallback once the answer started")
	})
	t.Run("an unknown role is the SDK's NotFoundError", func(t *testing.T) {
		res := run("missing")
		require.NotNil(t, res.Error)
		require.Equal(t, "NotFoundError", res.Error.Name)
	})
}
