package notify

import (
	"errors"
	"fmt"

	"github.com/vigil-ops/vigil/config"
)

// FromConfig builds the configured channels, in the order email, slack,
// webhook (none configured → an empty slice). secret resolves an
// *_env/*_file reference, e.g. [config.Config.Secret]. All problems are
// reported together; secret values never appear in errors.
func FromConfig(n config.Notify, secret func(env, file string) (string, error)) ([]Channel, error) {
	out := []Channel{}
	var errs []error
	add := func(ch Channel, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		out = append(out, ch)
	}
	ref := func(key, env, file string) (string, bool) {
		if env == "" && file == "" {
			return "", true
		}
		v, err := secret(env, file)
		if err != nil {
			if env == "" {
				key += "_file"
			} else {
				key += "_env"
			}
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return "", false
		}
		return v, true
	}

	if e := n.Email; e.SMTPAddr != "" {
		if pass, ok := ref("notify.email.password", e.PasswordEnv, e.PasswordFile); ok {
			add(NewEmail(EmailConfig{SMTPAddr: e.SMTPAddr, From: e.From, To: e.To,
				Username: e.Username, Password: pass, StartTLS: e.StartTLS}))
		}
	}

	if s := n.Slack; s.WebhookURL != "" || s.WebhookURLEnv != "" || s.WebhookURLFile != "" || s.BotTokenEnv != "" || s.BotTokenFile != "" {
		hook, ok1 := s.WebhookURL, true
		if hook == "" {
			hook, ok1 = ref("notify.slack.webhook_url", s.WebhookURLEnv, s.WebhookURLFile)
			if ok1 && hook != "" && config.CheckNotifyURL(hook) != "" {
				errs = append(errs, errors.New("notify.slack.webhook_url: the referenced value is not an acceptable URL (absolute https; http only for 127.0.0.1 and localhost)"))
				ok1 = false
			}
		}
		token, ok2 := ref("notify.slack.bot_token", s.BotTokenEnv, s.BotTokenFile)
		if ok1 && ok2 {
			add(NewSlack(SlackConfig{WebhookURL: hook, BotToken: token, Channel: s.Channel, APIURL: s.APIURL}))
		}
	}

	if w := n.Webhook; w.URL != "" {
		if token, ok := ref("notify.webhook.token", w.TokenEnv, w.TokenFile); ok {
			add(NewWebhook(WebhookConfig{URL: w.URL, Token: token}))
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
