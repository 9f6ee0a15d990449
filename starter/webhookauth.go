package starter

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook signature headers: the sender signs "<timestamp>.<raw body>" with HMAC-SHA256 under a
// shared secret and sends the Unix timestamp and "sha256=<hex>" signature.
const (
	HeaderTimestamp = "X-Vigil-Timestamp"
	HeaderSignature = "X-Vigil-Signature"
	// ReplayWindow is how far a signed request's timestamp may be from the server's clock.
	ReplayWindow = 5 * time.Minute
)

// WebhookSecret is one named credential alerting systems may use on the webhooks.
type WebhookSecret struct {
	Name  string
	Value []byte
}

// SignWebhook returns the signature header value of body at ts.
func SignWebhook(secret []byte, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return timestamp, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// authenticateWebhook accepts, in order: an HMAC signature over timestamp and body, a webhook
// bearer token, an API key, or — only where Anonymous is set — nothing.
func (au *Auth) authenticateWebhook(r *http.Request, body []byte, now time.Time) (Principal, error) {
	if sig := r.Header.Get(HeaderSignature); sig != "" {
		return au.checkSignature(r.Header.Get(HeaderTimestamp), sig, body, now)
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
			for _, t := range au.WebhookTokens {
				want := sha256.Sum256(t.Value)
				if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
					return Principal{Client: "webhook:" + t.Name}, nil
				}
			}
		}
	}
	return au.Authenticate(r)
}

func (au *Auth) checkSignature(tsHeader, sig string, body []byte, now time.Time) (Principal, error) {
	if len(au.HMACSecrets) == 0 {
		return Principal{}, errors.New("signed webhooks are not configured (auth.hmac_secrets)")
	}
	secs, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return Principal{}, fmt.Errorf("%s: want Unix seconds, got %q", HeaderTimestamp, tsHeader)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > ReplayWindow || d < -ReplayWindow {
		return Principal{}, fmt.Errorf("%s is %s away from the server's clock; the replay window is %s",
			HeaderTimestamp, d.Round(time.Second), ReplayWindow)
	}
	got, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return Principal{}, fmt.Errorf("%s: want sha256=<hex>", HeaderSignature)
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil {
		return Principal{}, fmt.Errorf("%s: not hex", HeaderSignature)
	}
	for _, s := range au.HMACSecrets {
		_, want := SignWebhook(s.Value, ts, body)
		wantMAC, _ := hex.DecodeString(strings.TrimPrefix(want, "sha256="))
		if hmac.Equal(gotMAC, wantMAC) {
			if !au.replays.first(got, now) {
				return Principal{}, errors.New("this signed request was already received (replay)")
			}
			return Principal{Client: "webhook:" + s.Name}, nil
		}
	}
	return Principal{}, errors.New("the signature does not match the body under any configured secret")
}

// webhook wraps a webhook handler: it reads the body under the size limit, authenticates the
// request (the signature covers the raw body) and hands both on.
func (a *API) webhook(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := a.readBody(w, r)
		if !ok {
			return
		}
		au := a.Auth
		if au == nil {
			au = &Auth{}
		}
		p, err := au.authenticateWebhook(r, body, time.Now())
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
			return
		}
		h(w, r.WithContext(withPrincipal(r.Context(), p)), body)
	}
}

// replayGuard remembers the signatures seen within the replay window, so a captured signed
// request cannot be sent again while its timestamp is still acceptable. It is per process: with
// several `vigil server` replicas a replay can reach another one, where the workflow-ID identity
// of alerts still makes it harmless.
type replayGuard struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// first records sig and reports whether it had not been seen within the window.
func (g *replayGuard) first(sig string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]time.Time{}
	}
	for k, at := range g.seen {
		if now.Sub(at) > 2*ReplayWindow {
			delete(g.seen, k)
		}
	}
	if _, ok := g.seen[sig]; ok {
		return false
	}
	g.seen[sig] = now
	return true
}
