package starter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/workflows"
	"go.temporal.io/api/serviceerror"
)

// GitHub's deployment webhooks: `deployment` announces a change, `deployment_status` reports its
// progress. Both are verified by X-Hub-Signature-256 (HMAC-SHA256 of the raw body under one of
// auth.hmac_secrets) and deduplicated by X-GitHub-Delivery.

type ghDeployment struct {
	ID          int64           `json:"id"`
	SHA         string          `json:"sha"`
	Ref         string          `json:"ref"`
	Environment string          `json:"environment"`
	Description string          `json:"description"`
	CreatedAt   time.Time       `json:"created_at"`
	Payload     json.RawMessage `json:"payload"`
	Creator     struct {
		Login string `json:"login"`
	} `json:"creator"`
}

type ghEvent struct {
	Deployment       ghDeployment `json:"deployment"`
	DeploymentStatus *struct {
		State     string    `json:"state"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"deployment_status"`
	Repository struct {
		Name     string `json:"name"`
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// GitHubDeploymentID is Vigil's deployment ID for a GitHub deployment.
func GitHubDeploymentID(repo string, id int64) string {
	return "gh-" + strings.ReplaceAll(repo, "/", "-") + "-" + strconv.FormatInt(id, 10)
}

// deliveries remembers recent X-GitHub-Delivery IDs (GitHub redelivers on timeouts and on
// request); a repeat is acknowledged without acting again.
type deliveries struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// forget drops a delivery whose processing failed, so that GitHub's redelivery is processed.
func (d *deliveries) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.seen, id)
}

func (d *deliveries) first(id string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]time.Time{}
	}
	for k, at := range d.seen {
		if now.Sub(at) > 24*time.Hour {
			delete(d.seen, k)
		}
	}
	if _, ok := d.seen[id]; ok {
		return false
	}
	d.seen[id] = now
	return true
}

func (a *API) checkGitHubSignature(r *http.Request, body []byte) error {
	sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return errors.New("missing X-Hub-Signature-256")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New("X-Hub-Signature-256: not hex")
	}
	if a.Auth != nil {
		for _, s := range a.Auth.HMACSecrets {
			mac := hmac.New(sha256.New, s.Value)
			mac.Write(body)
			if hmac.Equal(got, mac.Sum(nil)) {
				return nil
			}
		}
	}
	return errors.New("X-Hub-Signature-256 does not match the body under any configured secret (auth.hmac_secrets)")
}

func (a *API) postGitHub(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	if err := a.checkGitHubSignature(r, body); err != nil {
		writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	if delivery != "" && !a.githubDeliveries.first(delivery, time.Now()) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate", "delivery": delivery})
		return
	}
	processed := false
	defer func() {
		if delivery != "" && !processed {
			a.githubDeliveries.forget(delivery) // failed: let the redelivery through
		}
	}()
	var e ghEvent
	if err := json.Unmarshal(body, &e); err != nil {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()})
		return
	}
	if e.Deployment.ID == 0 || e.Repository.FullName == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Not a deployment event",
			Errors: []ProblemField{{Field: "deployment.id", Message: "required"}, {Field: "repository.full_name", Message: "required"}}})
		return
	}
	id := GitHubDeploymentID(e.Repository.FullName, e.Deployment.ID)
	switch event {
	case "deployment":
		d := activities.Deployment{
			ID: id, PlannedAt: e.Deployment.CreatedAt, Version: e.Deployment.SHA, Author: e.Deployment.Creator.Login,
			Applications: githubApps(e), Links: map[string]string{"ref": e.Deployment.Ref, "environment": e.Deployment.Environment},
		}
		if d.PlannedAt.IsZero() {
			d.PlannedAt = time.Now().UTC()
		}
		var probs []ProblemField
		for i, app := range d.Applications {
			if app.ID == "" {
				probs = append(probs, ProblemField{Field: fmt.Sprintf("deployment.payload.applications[%d].id", i), Message: "required"})
			}
			if app.Name == "" {
				probs = append(probs, ProblemField{Field: fmt.Sprintf("deployment.payload.applications[%d].name", i), Message: "required"})
			}
		}
		if len(probs) > 0 {
			processed = true // the same payload redelivered is as invalid
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid deployment", Errors: probs})
			return
		}
		res, err := a.startDeployment(r, d)
		if err != nil {
			a.startProblem(w, err)
			return
		}
		processed = true
		writeJSON(w, http.StatusAccepted, res)
	case "deployment_status":
		if e.DeploymentStatus == nil {
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Errors: []ProblemField{{Field: "deployment_status", Message: "required"}}})
			return
		}
		typ := map[string]string{"in_progress": workflows.EventStarted, "success": workflows.EventFinished,
			"failure": workflows.EventCancelled, "error": workflows.EventCancelled}[e.DeploymentStatus.State]
		if typ == "" {
			processed = true
			writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "state": e.DeploymentStatus.State})
			return
		}
		at := e.DeploymentStatus.CreatedAt
		if at.IsZero() {
			at = time.Now().UTC()
		}
		if err := a.Temporal.SignalWorkflow(r.Context(), workflows.DeploymentWorkflowID(id), "", workflows.SignalDeploymentEvent,
			workflows.DeploymentEvent{Type: typ, At: at}); err != nil {
			a.deploymentProblemID(w, id, err)
			return
		}
		processed = true
		writeJSON(w, http.StatusAccepted, map[string]any{"deployment": "/v1/deployments/" + id, "event": typ})
	case "ping":
		processed = true
		writeJSON(w, http.StatusOK, map[string]any{"status": "pong"})
	default:
		processed = true
		writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "event": event})
	}
}

// githubApps takes the applications from the deployment's payload
// ({"applications":[{"id","name"}]}), else the repository is the application.
func githubApps(e ghEvent) []activities.App {
	var p struct {
		Applications []activities.App `json:"applications"`
	}
	if len(e.Deployment.Payload) > 0 && json.Unmarshal(e.Deployment.Payload, &p) == nil && len(p.Applications) > 0 {
		return p.Applications
	}
	return []activities.App{{ID: activities.AppID(e.Repository.FullName), Name: e.Repository.Name}}
}

func (a *API) deploymentProblemID(w http.ResponseWriter, id string, err error) {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Detail: fmt.Sprintf("deployment %q is not tracked: %v", id, err)})
		return
	}
	writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: fmt.Sprintf("deployment %q: %v", id, err)})
}
