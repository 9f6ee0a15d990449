package starter

import (
	"container/heap"
	"context"
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
	return strconv.FormatInt(ts.Unix(), 10), "sha256=" + hex.EncodeToString(signatureMAC(secret, ts, body))
}

// authenticateWebhook accepts, in order: an HMAC signature over timestamp and body, a webhook
// bearer token, an API key, or — only where Anonymous is set — nothing.
func (au *Auth) authenticateWebhook(r *http.Request, body []byte, now time.Time) (Principal, error) {
	if sig := r.Header.Get(HeaderSignature); sig != "" {
		return au.checkSignature(r.Context(), r.Header.Get(HeaderTimestamp), sig, body, now)
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

func (au *Auth) checkSignature(ctx context.Context, tsHeader, sig string, body []byte, now time.Time) (Principal, error) {
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
		if hmac.Equal(gotMAC, signatureMAC(s.Value, ts, body)) {
			// The replay key is the MAC itself, not its spelling: hex case or padding cannot
			// make a captured request new. It is kept past the window on this clock, for
			// replicas whose clocks differ.
			first, err := au.claimOnce(ctx, "vigil-sig:"+hex.EncodeToString(gotMAC), ts.Add(2*ReplayWindow))
			if err != nil {
				return Principal{}, err
			}
			if !first {
				return Principal{}, errors.New("this signed request was already received (replay)")
			}
			return Principal{Client: "webhook:" + s.Name}, nil
		}
	}
	return Principal{}, errors.New("the signature does not match the body under any configured secret")
}

// signatureMAC is the HMAC-SHA256 of "<timestamp>.<body>" under secret.
func signatureMAC(secret []byte, ts time.Time, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return mac.Sum(nil)
}

// errReplayGuard is a replay check that could not be made (the store is unreachable): the
// request is refused with 503, so the sender retries, rather than let through unchecked.
type errReplayGuard struct{ err error }

func (e errReplayGuard) Error() string {
	return "cannot check this request against replays now; try again"
}

func (e errReplayGuard) Unwrap() error { return e.err }

// onceKeys remembers keys until they expire. store.Store is one, shared by every replica
// using the same database; memOnce is the fallback of an Auth without a store (tests).
type onceKeys interface {
	ClaimOnce(ctx context.Context, key string, expires time.Time) (bool, error)
	ReleaseOnce(ctx context.Context, key string) error
}

func (au *Auth) onceKeys() onceKeys {
	if au.Store != nil {
		return au.Store
	}
	return &au.replays
}

// claimOnce claims a replay key; a failure of the guard itself is an errReplayGuard.
func (au *Auth) claimOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	first, err := au.onceKeys().ClaimOnce(ctx, key, expires)
	if err != nil {
		return false, errReplayGuard{err}
	}
	return first, nil
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
			var ge errReplayGuard
			if errors.As(err, &ge) {
				a.Logger.Error("replay guard", "error", ge.err)
				writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()})
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
			return
		}
		h(w, r.WithContext(withPrincipal(r.Context(), p)), body)
	}
}

// maxMemOnceKeys bounds memOnce.
const maxMemOnceKeys = 100_000

// memOnce is an in-process onceKeys: a map with a heap by expiry, so expired keys are
// dropped oldest first without scanning the map, and at most maxMemOnceKeys are kept.
type memOnce struct {
	mu    sync.Mutex
	until map[string]time.Time
	heap  onceHeap
}

type onceItem struct {
	key     string
	expires time.Time
}

type onceHeap []onceItem

func (h onceHeap) Len() int           { return len(h) }
func (h onceHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h onceHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *onceHeap) Push(x any)        { *h = append(*h, x.(onceItem)) }
func (h *onceHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// ClaimOnce implements onceKeys.
func (m *memOnce) ClaimOnce(_ context.Context, key string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.until == nil {
		m.until = map[string]time.Time{}
	}
	now := time.Now()
	for m.heap.Len() > 0 && (!m.heap[0].expires.After(now) || m.heap.Len() > maxMemOnceKeys) {
		it := heap.Pop(&m.heap).(onceItem)
		if at, ok := m.until[it.key]; ok && at.Equal(it.expires) {
			delete(m.until, it.key)
		}
	}
	if at, ok := m.until[key]; ok && at.After(now) {
		return false, nil
	}
	m.until[key] = expires
	heap.Push(&m.heap, onceItem{key, expires})
	return true, nil
}

// ReleaseOnce implements onceKeys.
func (m *memOnce) ReleaseOnce(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.until, key)
	return nil
}
