package starter

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/vigil-ops/vigil/store"
)

// Auth decides who a request comes from. API keys are only ever compared by their SHA-256.
type Auth struct {
	// Keys maps the hex SHA-256 of an API key to its client (from the configuration).
	Keys map[string]Principal
	// Store, when set, holds further API keys (store.PutAPIKey) and the replay guard's keys
	// (store.ClaimOnce), shared by every replica using the same database.
	Store store.Store
	// WebhookTokens are bearer tokens accepted on the webhooks (auth.webhook_tokens).
	WebhookTokens []WebhookSecret
	// HMACSecrets verify Vigil-signed webhooks (auth.hmac_secrets).
	HMACSecrets []WebhookSecret
	// GitHubSecrets verify GitHub's deployment webhooks (auth.github_secrets).
	GitHubSecrets []WebhookSecret
	// replays is the replay guard when there is no Store to share one through.
	replays memOnce

	// Anonymous lets requests without credentials through as client "dev" (or the request's
	// own client field). Only `vigil dev` on a loopback address with no credentials configured
	// sets it.
	Anonymous bool
}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Principal is an authenticated caller.
type Principal struct {
	Client string `json:"client"`
	Org    string `json:"org,omitempty"`
	// Anonymous is true for requests let through without a key.
	Anonymous bool `json:"anonymous,omitempty"`
}

type principalKey struct{}

// PrincipalFrom returns the caller of an authenticated request.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

var errNoCredentials = errors.New("missing credentials: send Authorization: Bearer <API key>")

// Authenticate returns the caller of r, or why it is refused.
func (au *Auth) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if au.Anonymous {
			return Principal{Client: "dev", Anonymous: true}, nil
		}
		return Principal{}, errNoCredentials
	}
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return Principal{}, errors.New("malformed Authorization header: want Bearer <API key>")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	hash := hex.EncodeToString(sum[:])
	for h, p := range au.Keys {
		if subtle.ConstantTimeCompare([]byte(h), []byte(hash)) == 1 {
			return p, nil
		}
	}
	if au.Store != nil {
		k, err := au.Store.LookupAPIKey(r.Context(), hash)
		if err == nil {
			return Principal{Client: k.Client, Org: k.Org}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			// Never show store errors to an unauthenticated caller.
			return Principal{}, errors.New("cannot check the API key now; try again")
		}
	}
	return Principal{}, errors.New("unknown API key")
}

// requireAuth wraps a handler so that it only runs for an authenticated caller.
func (a *API) requireAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		au := a.Auth
		if au == nil {
			au = &Auth{} // no configuration: nobody gets in
		}
		p, err := au.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
			return
		}
		h(w, r.WithContext(withPrincipal(r.Context(), p)))
	}
}
