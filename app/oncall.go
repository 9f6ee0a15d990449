package app

import (
	"fmt"
	"log/slog"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/depstatus"
	"github.com/vigil-ops/vigil/oncall"
	"github.com/vigil-ops/vigil/phone"
	"github.com/vigil-ops/vigil/store"
)

// wireOnCall builds the on-call's activities: the store, the public URL for the phone
// provider's callbacks, the phone (twilio, whose results the dependency status records) and the
// rota (oncall).
func wireOnCall(cfg *config.Config, st store.Store, logger *slog.Logger, publicURL string, deps *depstatus.Registry) (*activities.OnCall, error) {
	oc := cfg.OnCall
	out := &activities.OnCall{Store: st, Logger: logger, PublicURL: publicURL}
	out.Config = activities.OnCallConfig{Severities: oc.Severities, AckTimeout: oc.AckTimeout, Rounds: oc.Rounds,
		Language: cfg.Twilio.Language,
		PeopleFor: func(app string) []oncall.Person {
			var people []oncall.Person
			for _, p := range oc.PeopleFor(app) {
				people = append(people, oncall.Person{Name: p.Name, Phone: p.Phone})
			}
			return people
		}}
	if cfg.Twilio.AccountSID == "" {
		return out, nil
	}
	token, err := cfg.Secret(cfg.Twilio.AuthTokenEnv, cfg.Twilio.AuthTokenFile)
	if err != nil {
		return nil, fmt.Errorf("twilio.auth_token: %w", err)
	}
	tw, err := phone.NewTwilio(phone.TwilioConfig{AccountSID: cfg.Twilio.AccountSID, AuthToken: token,
		From: cfg.Twilio.From, BaseURL: cfg.Twilio.BaseURL})
	if err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	dep := deps.Add("twilio", "twilio", "twilio", nil)
	if h, ok := phone.Caller(tw).(phone.Hanger); ok {
		out.Phone = statusPhoneHanger{statusPhone{tw, dep}, h}
	} else {
		out.Phone = statusPhone{tw, dep}
	}
	return out, nil
}

// publicURL is the address Vigil is reached at (http.public_url), else its listening address.
func publicURL(cfg *config.Config, a *App) string {
	if cfg.HTTP.PublicURL != "" {
		return cfg.HTTP.PublicURL
	}
	return "http://" + a.HTTPAddr()
}
