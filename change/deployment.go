package change

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/amsource"
	"github.com/vigil-ops/vigil/promsource"
)

// Application is an application a deployment touches, as the release system names it (App is
// its findings at a checkpoint).
type Application struct {
	ID   AppID  `json:"id"`
	Name string `json:"name"`
}

// AppID is an application's ID as the release system sent it: a JSON string, or a JSON number
// (release systems often send numeric IDs, {"id": 101}) kept as its exact digits ("101"). It
// encodes as a string.
type AppID string

// UnmarshalJSON accepts a string or a number.
func (id *AppID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = AppID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil || len(b) == 0 || b[0] == 'n' {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeOf(""), Field: "id"}
	}
	*id = AppID(n.String())
	return nil
}

// Deployment is a change announced by the release system.
type Deployment struct {
	ID           string            `json:"id"`
	PlannedAt    time.Time         `json:"plannedAt"`
	Version      string            `json:"version,omitempty"`
	Author       string            `json:"author,omitempty"`
	Applications []Application     `json:"applications"`
	Links        map[string]string `json:"links,omitempty"`
}

// GitHubDeploymentID is Vigil's deployment ID for GitHub deployment id of repo (owner/name): the
// ID of the record a GitHub deployment webhook creates, so a deployment seen both ways is one.
func GitHubDeploymentID(repo string, id int64) string {
	return "gh-" + strings.ReplaceAll(repo, "/", "-") + "-" + strconv.FormatInt(id, 10)
}

// Enrichment is the data attached to one application's verdict: tables of the further
// queries, the series around the change and the alerts Alertmanager holds for it.
type Enrichment struct {
	App    string              `json:"app"`
	ID     string              `json:"applicationId"`
	Kinds  []string            `json:"kinds"`
	Tables []promsource.Table  `json:"tables,omitempty"`
	Series []promsource.Around `json:"series,omitempty"`
	Alerts []amsource.Alert    `json:"alerts,omitempty"`
	// Errors are the queries that failed; an enrichment never fails the checkpoint.
	Errors []string `json:"errors,omitempty"`
}
