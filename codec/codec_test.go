package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func mustCodec(t *testing.T, keys map[string][]byte, active string) converter.PayloadCodec {
	t.Helper()
	c, err := NewPayloadCodec(keys, active)
	require.NoError(t, err)
	return c
}

type incident struct {
	Alert    string            `json:"alert"`
	Severity int               `json:"severity"`
	Vault    map[string]string `json:"vault"`
	Tags     []string          `json:"tags"`
}

const secret = "db-password-hunter2@10.1.2.3"

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1"))

	in := incident{Alert: "HighErrorRate", Severity: 2, Vault: map[string]string{"<IP_1>": secret}, Tags: []string{"prod"}}
	p, err := dc.ToPayload(in)
	require.NoError(t, err)
	require.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
	require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
	require.Len(t, p.Metadata, 2, "no plaintext metadata left")
	var out incident
	require.NoError(t, dc.FromPayload(p, &out))
	require.Equal(t, in, out)

	t.Run("string", func(t *testing.T) {
		p, err := dc.ToPayload("hello " + secret)
		require.NoError(t, err)
		var s string
		require.NoError(t, dc.FromPayload(p, &s))
		require.Equal(t, "hello "+secret, s)
	})
	t.Run("int", func(t *testing.T) {
		p, err := dc.ToPayload(42)
		require.NoError(t, err)
		var n int
		require.NoError(t, dc.FromPayload(p, &n))
		require.Equal(t, 42, n)
	})
	t.Run("bytes", func(t *testing.T) {
		raw := []byte{0, 1, 2, 0xff}
		p, err := dc.ToPayload(raw)
		require.NoError(t, err)
		var b []byte
		require.NoError(t, dc.FromPayload(p, &b))
		require.Equal(t, raw, b)
	})
	t.Run("nil", func(t *testing.T) {
		p, err := dc.ToPayload(nil)
		require.NoError(t, err)
		require.Equal(t, EncodingEncrypted, string(p.Metadata[MetadataEncoding]))
		var v *incident
		require.NoError(t, dc.FromPayload(p, &v))
		require.Nil(t, v)
	})
	t.Run("proto", func(t *testing.T) {
		msg := &commonpb.WorkflowExecution{WorkflowId: "incident-42", RunId: "run-1"}
		p, err := dc.ToPayload(msg)
		require.NoError(t, err)
		var got commonpb.WorkflowExecution
		require.NoError(t, dc.FromPayload(p, &got))
		require.True(t, proto.Equal(msg, &got))
	})
	t.Run("payloads", func(t *testing.T) {
		ps, err := dc.ToPayloads("a", 1, in)
		require.NoError(t, err)
		require.Len(t, ps.Payloads, 3)
		var (
			s string
			n int
			i incident
		)
		require.NoError(t, dc.FromPayloads(ps, &s, &n, &i))
		require.Equal(t, "a", s)
		require.Equal(t, 1, n)
		require.Equal(t, in, i)
	})
}

func TestCiphertextHidesPlaintext(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	plain, err := converter.GetDefaultDataConverter().ToPayload(incident{Alert: secret})
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Len(t, enc, 1)

	wire, err := proto.Marshal(enc[0])
	require.NoError(t, err)
	require.False(t, bytes.Contains(wire, []byte(secret)), "secret visible in the encrypted payload")
	require.False(t, bytes.Contains(wire, []byte("hunter2")))
	require.False(t, bytes.Contains(wire, []byte("json/plain")), "original encoding visible")
	require.Equal(t, "json/plain", string(plain.Metadata[MetadataEncoding]), "input payload not mutated")

	// Fresh nonce each time: the same payload never encrypts the same way.
	enc2, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.NotEqual(t, enc[0].Data, enc2[0].Data)
	require.NotEqual(t, enc[0].Data[:12], enc2[0].Data[:12])

	dec, err := c.Decode(enc)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, dec[0]), "metadata and data restored exactly")
}

func TestKeyRotation(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	old := DataConverter(mustCodec(t, map[string][]byte{"k1": k1}, "k1"))
	oldPayload, err := old.ToPayload("written with k1")
	require.NoError(t, err)
	require.Equal(t, "k1", string(oldPayload.Metadata[MetadataKeyID]))

	// Step 1: k2 known everywhere, k1 still active.
	both1 := DataConverter(mustCodec(t, map[string][]byte{"k1": k1, "k2": k2}, "k1"))
	p, err := both1.ToPayload("still k1")
	require.NoError(t, err)
	require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))

	// Step 2: k2 active; k1 kept for decryption.
	rotated := DataConverter(mustCodec(t, map[string][]byte{"k1": k1, "k2": k2}, "k2"))
	var s string
	require.NoError(t, rotated.FromPayload(oldPayload, &s))
	require.Equal(t, "written with k1", s)

	newPayload, err := rotated.ToPayload("written with k2")
	require.NoError(t, err)
	require.Equal(t, "k2", string(newPayload.Metadata[MetadataKeyID]))
	require.NoError(t, rotated.FromPayload(newPayload, &s))
	require.Equal(t, "written with k2", s)

	// A process that has not learnt k2 yet cannot read the new payloads.
	err = old.FromPayload(newPayload, &s)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestUnknownKeyID(t *testing.T) {
	c1 := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	c9 := mustCodec(t, map[string][]byte{"k9": newKey(t)}, "k9")
	enc, err := c9.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"x"`)}})
	require.NoError(t, err)
	_, err = c1.Decode(enc)
	require.ErrorIs(t, err, ErrUnknownKey)
	require.ErrorContains(t, err, `"k9"`)
	require.ErrorContains(t, err, "known: k1")

	noID := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte(EncodingEncrypted)}, Data: enc[0].Data}
	_, err = c1.Decode([]*commonpb.Payload{noID})
	require.ErrorContains(t, err, MetadataKeyID)
}

func TestTamperedCiphertext(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	enc, err := c.Encode([]*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"amount":100}`)}})
	require.NoError(t, err)
	orig := enc[0]

	for name, mutate := range map[string]func([]byte) []byte{
		"flipped ciphertext byte": func(b []byte) []byte { b[len(b)/2+6] ^= 0x01; return b },
		"flipped nonce byte":      func(b []byte) []byte { b[0] ^= 0x80; return b },
		"flipped tag byte":        func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b },
		"truncated":               func(b []byte) []byte { return b[:len(b)-1] },
		"too short":               func(b []byte) []byte { return b[:10] },
	} {
		t.Run(name, func(t *testing.T) {
			bad := proto.Clone(orig).(*commonpb.Payload)
			bad.Data = mutate(bytes.Clone(orig.Data))
			_, err := c.Decode([]*commonpb.Payload{bad})
			require.Error(t, err)
			require.ErrorContains(t, err, `key "k1"`)
		})
	}

	// The same ciphertext under another key of the same ID fails too.
	other := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	_, err = other.Decode(enc)
	require.ErrorContains(t, err, "decrypt payload")
}

func TestPlainPayloadPassesThrough(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	plain, err := converter.GetDefaultDataConverter().ToPayload(map[string]int{"n": 1})
	require.NoError(t, err)
	noMeta := &commonpb.Payload{Data: []byte("raw")}

	dec, err := c.Decode([]*commonpb.Payload{plain, noMeta})
	require.NoError(t, err)
	require.True(t, proto.Equal(plain, dec[0]))
	require.True(t, proto.Equal(noMeta, dec[1]))

	// A history written before encryption still reads through the converter.
	var m map[string]int
	require.NoError(t, DataConverter(c).FromPayload(plain, &m))
	require.Equal(t, map[string]int{"n": 1}, m)
}

func TestNewPayloadCodecValidatesKeys(t *testing.T) {
	_, err := NewPayloadCodec(nil, "k1")
	require.ErrorContains(t, err, "no keys")
	_, err = NewPayloadCodec(map[string][]byte{"k1": newKey(t)}, "")
	require.ErrorContains(t, err, "no active key")
	_, err = NewPayloadCodec(map[string][]byte{"k1": newKey(t)}, "k2")
	require.ErrorContains(t, err, `active key ID "k2" is not among the keys (k1)`)
	_, err = NewPayloadCodec(map[string][]byte{"k1": newKey(t), "short": make([]byte, 16)}, "k1")
	require.ErrorContains(t, err, `key "short" must be 32 bytes (AES-256), got 16`)
	_, err = NewPayloadCodec(map[string][]byte{"k1": make([]byte, 33)}, "k1")
	require.ErrorContains(t, err, "got 33")
	_, err = NewPayloadCodec(map[string][]byte{"k1": newKey(t), "": newKey(t)}, "k1")
	require.ErrorContains(t, err, "empty key ID")

	// The codec does not keep a reference to the caller's key bytes.
	key := newKey(t)
	c, err := NewPayloadCodec(map[string][]byte{"k1": key}, "k1")
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	require.NoError(t, err)
	clear(key)
	_, err = c.Decode(enc)
	require.NoError(t, err)
}

// remotePayloads is the remote codec JSON format (bytes as base64).
type remotePayloads struct {
	Payloads []struct {
		Metadata map[string]string `json:"metadata"`
		Data     string            `json:"data"`
	} `json:"payloads"`
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return string(b)
}

const uiOrigin = "https://temporal.example.com"

func newCodecServer(t *testing.T, c converter.PayloadCodec, authorize func(*http.Request) bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/codec/", Handler(c, []string{uiOrigin, "http://localhost:8233/"}, authorize))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestHandlerEncodeDecode(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	srv := newCodecServer(t, c, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer ok" })
	hdr := map[string]string{"Authorization": "Bearer ok", "X-Namespace": "default", "Origin": uiOrigin}

	in := `{"payloads":[` +
		`{"metadata":{"encoding":"` + b64("json/plain") + `"},"data":"` + b64(`{"alert":"`+secret+`"}`) + `"},` +
		`{"metadata":{"encoding":"` + b64("binary/null") + `"}}]}`
	res, body := post(t, srv.URL+"/codec/encode", in, hdr)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	require.Equal(t, uiOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	require.NotContains(t, body, b64(`{"alert":"`+secret+`"}`))

	var encoded remotePayloads
	require.NoError(t, json.Unmarshal([]byte(body), &encoded))
	require.Len(t, encoded.Payloads, 2)
	for _, p := range encoded.Payloads {
		require.Equal(t, EncodingEncrypted, unb64(t, p.Metadata["encoding"]))
		require.Equal(t, "k1", unb64(t, p.Metadata["encryption-key-id"]))
		require.NotContains(t, unb64(t, p.Data), secret)
	}

	// The Web UI posts the encoded payloads back to /decode.
	res, body = post(t, srv.URL+"/codec/decode", body, hdr)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var decoded remotePayloads
	require.NoError(t, json.Unmarshal([]byte(body), &decoded))
	require.Len(t, decoded.Payloads, 2)
	require.Equal(t, "json/plain", unb64(t, decoded.Payloads[0].Metadata["encoding"]))
	require.Equal(t, `{"alert":"`+secret+`"}`, unb64(t, decoded.Payloads[0].Data))
	require.Equal(t, "binary/null", unb64(t, decoded.Payloads[1].Metadata["encoding"]))
	require.Empty(t, decoded.Payloads[1].Data)

	// Decoding a payload of an unknown key is a 400 naming the key.
	other := mustCodec(t, map[string][]byte{"k7": newKey(t)}, "k7")
	enc, err := other.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	require.NoError(t, err)
	foreign := `{"payloads":[{"metadata":{"encoding":"` + b64(EncodingEncrypted) + `","encryption-key-id":"` + b64("k7") +
		`"},"data":"` + base64.StdEncoding.EncodeToString(enc[0].Data) + `"}]}`
	res, body = post(t, srv.URL+"/codec/decode", foreign, hdr)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, body, `"k7"`)

	// Wrong method and unknown path.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/codec/decode", nil)
	req.Header.Set("Authorization", "Bearer ok")
	getRes, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	getRes.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, getRes.StatusCode)
	res, _ = post(t, srv.URL+"/codec/other", in, hdr)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestHandlerCORSPreflight(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	var called atomic.Bool
	srv := newCodecServer(t, c, func(*http.Request) bool { called.Store(true); return false })

	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/codec/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}

	res := preflight(uiOrigin)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, uiOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	allowHeaders := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"content-type", "x-namespace", "authorization"} {
		require.Contains(t, allowHeaders, h)
	}
	require.Contains(t, res.Header.Get("Access-Control-Allow-Methods"), "POST")
	require.Contains(t, res.Header.Values("Vary"), "Origin")
	require.False(t, called.Load(), "authorize is not called on preflight")

	// An origin given with a trailing slash in the list matches.
	res = preflight("http://localhost:8233")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, "http://localhost:8233", res.Header.Get("Access-Control-Allow-Origin"))

	res = preflight("https://evil.example.com")
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	require.Empty(t, res.Header.Get("Access-Control-Allow-Credentials"))
}

func TestHandlerUnauthorized(t *testing.T) {
	c := mustCodec(t, map[string][]byte{"k1": newKey(t)}, "k1")
	var namespace atomic.Value
	srv := newCodecServer(t, c, func(r *http.Request) bool { namespace.Store(r.Header.Get("X-Namespace")); return false })

	in := `{"payloads":[{"metadata":{"encoding":"` + b64("json/plain") + `"},"data":"` + b64(`1`) + `"}]}`
	res, body := post(t, srv.URL+"/codec/decode", in, map[string]string{"Origin": uiOrigin, "X-Namespace": "ops"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Equal(t, uiOrigin, res.Header.Get("Access-Control-Allow-Origin"), "the browser may read the 401")
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.EqualValues(t, 401, p["status"])
	require.Equal(t, "Unauthorized", p["title"])
	require.Equal(t, "ops", namespace.Load(), "authorize sees the request")

	// nil authorize allows everything.
	open := newCodecServer(t, c, nil)
	res, body = post(t, open.URL+"/codec/decode", in, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "no CORS headers without an Origin")
}
