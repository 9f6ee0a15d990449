package codec

import (
	"encoding/json"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds the body of an encode or decode request.
const MaxRequestBytes = 32 << 20

// CORS headers the Web UI sends with its codec requests.
const allowHeaders = "Content-Type, X-Namespace, Authorization"

// Handler serves the remote codec endpoint: POST .../encode and
// POST .../decode with a body {"payloads":[{"metadata":{"encoding":"<base64>",
// ...},"data":"<base64>"}]}, answered in the same format (see
// converter.NewPayloadCodecHTTPHandler). Only the path suffix is matched, so
// the handler can be mounted under a prefix, e.g. mux.Handle("/codec/", h)
// with the Web UI's codec endpoint set to https://vigil.example/codec.
//
// allowedOrigins lists the Web UI origins ("https://temporal.example.com",
// exact match, no wildcard) that get CORS headers: Access-Control-Allow-Origin
// (the request's origin), -Allow-Credentials: true, -Allow-Headers:
// Content-Type, X-Namespace, Authorization, and -Allow-Methods on the OPTIONS
// preflight, which is answered 204 (403 for an origin not listed) without
// calling authorize. Every other request is first passed to authorize (nil
// allows all); false answers 401 with an application/problem+json body.
func Handler(c converter.PayloadCodec, allowedOrigins []string, authorize func(*http.Request) bool) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(c)
	origins := make(map[string]bool, len(allowedOrigins))
	for _, o := range allowedOrigins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			origins[o] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && origins[origin]
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", allowHeaders)
		}

		if r.Method == http.MethodOptions {
			if origin != "" && !allowed {
				problem(w, http.StatusForbidden, "Forbidden", "origin "+origin+" is not allowed to use the codec endpoint")
				return
			}
			h.Set("Allow", "POST, OPTIONS")
			if allowed {
				h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}

		if authorize != nil && !authorize(r) {
			problem(w, http.StatusUnauthorized, "Unauthorized", "not authorised to use the payload codec")
			return
		}
		if r.Method != http.MethodPost {
			h.Set("Allow", "POST, OPTIONS")
			problem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST .../encode or POST .../decode")
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		}
		inner.ServeHTTP(w, r)
	})
}

// problem writes an RFC 9457 problem details response.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "about:blank",
		"title":  title,
		"status": status,
		"detail": detail,
	})
}
