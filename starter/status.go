package starter

import (
	"net/http"

	"github.com/vigil-ops/vigil/depstatus"
)

// StatusView is the answer of GET /v1/status: every configured integration with its last
// success, last failure and error, from real traffic and light probes. Status is "ok" when none
// is down, "degraded" otherwise.
type StatusView struct {
	Status       string             `json:"status"`
	Down         []string           `json:"down"`
	Dependencies []depstatus.Status `json:"dependencies"`
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	v := StatusView{Status: "ok", Down: []string{}, Dependencies: a.Deps.Snapshot()}
	for _, d := range v.Dependencies {
		if d.State == depstatus.StateDown {
			v.Down = append(v.Down, d.Name)
		}
	}
	if len(v.Down) > 0 {
		v.Status = "degraded"
	}
	writeJSON(w, http.StatusOK, v)
}
