package app

import (
	"fmt"

	"github.com/vigil-ops/vigil/activities"
	"github.com/vigil-ops/vigil/config"
	"github.com/vigil-ops/vigil/phone"
)

// wireOnCall gives the worker its phone (twilio) and the rota (oncall).
func wireOnCall(cfg *config.Config, acts *activities.Activities) error {
	oc := cfg.OnCall
	acts.OnCall = activities.OnCallConfig{Severities: oc.Severities, AckTimeout: oc.AckTimeout, Rounds: oc.Rounds,
		Language: cfg.Twilio.Language,
		PeopleFor: func(app string) []activities.Person {
			var out []activities.Person
			for _, p := range oc.PeopleFor(app) {
				out = append(out, activities.Person{Name: p.Name, Phone: p.Phone})
			}
			return out
		}}
	if cfg.Twilio.AccountSID == "" {
		return nil
	}
	token, err := cfg.Secret(cfg.Twilio.AuthTokenEnv, cfg.Twilio.AuthTokenFile)
	if err != nil {
		return fmt.Errorf("twilio.auth_token: %w", err)
	}
	tw, err := phone.NewTwilio(phone.TwilioConfig{AccountSID: cfg.Twilio.AccountSID, AuthToken: token,
		From: cfg.Twilio.From, BaseURL: cfg.Twilio.BaseURL})
	if err != nil {
		return fmt.Errorf("twilio: %w", err)
	}
	acts.Phone = tw
	return nil
}

// publicURL is the address Vigil is reached at (http.public_url), else its listening address.
func publicURL(cfg *config.Config, a *App) string {
	if cfg.HTTP.PublicURL != "" {
		return cfg.HTTP.PublicURL
	}
	return "http://" + a.HTTPAddr()
}
