package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// envelope is one message received by the test SMTP server.
type envelope struct {
	From string
	To   []string
	Data []byte
	User string // authenticated user, if any
}

// backend records envelopes; failRcpt/failData make it answer with an
// SMTP error instead.
type backend struct {
	mu       sync.Mutex
	got      []envelope
	failData *smtp.SMTPError
	failRcpt *smtp.SMTPError
	user     string // when set, AUTH PLAIN is offered and required
	pass     string
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

func (b *backend) messages() []envelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]envelope(nil), b.got...)
}

type session struct {
	b    *backend
	env  envelope
	auth bool
}

func (s *session) AuthMechanisms() []string {
	if s.b.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.auth, s.env.User = true, user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.env.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.b.failRcpt != nil {
		return s.b.failRcpt
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.failData != nil {
		return s.b.failData
	}
	s.env.Data = data
	s.b.mu.Lock()
	s.b.got = append(s.b.got, s.env)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.env = envelope{User: s.env.User} }
func (s *session) Logout() error { return nil }

// startSMTP runs a real SMTP server on 127.0.0.1 for the test.
func startSMTP(t *testing.T, b *backend, tlsConfig *tls.Config) string {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = tlsConfig == nil
	srv.TLSConfig = tlsConfig
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

const koReport = `[요약]
payment-api에서 SlowExternalCall 알림이 발생했습니다. 원인은 외부 호출 지연입니다.

[트랜잭션]
- URL: POST /api/v1/payments/approve
- 전체 응답 시간: 6,319 ms (HTTP 200)

[프로파일 분석]
- 네트워크 지연: 외부 호출 응답에 6,030 ms가 걸렸습니다.

[조치 계획]
1. 외부 서비스 담당 측에 응답 지연 원인을 확인하세요.
.
.. a line that starts with a dot
`

// readMessage parses a received message and decodes its body.
func readMessage(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	raw, err := io.ReadAll(msg.Body)
	require.NoError(t, err)
	var body []byte
	switch cte := msg.Header.Get("Content-Transfer-Encoding"); cte {
	case "quoted-printable":
		body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	case "base64":
		body, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	require.NoError(t, err)
	return msg, strings.ReplaceAll(string(body), "\r\n", "\n")
}

func TestEmailDelivers(t *testing.T) {
	b := &backend{}
	addr := startSMTP(t, b, nil)
	e, err := NewEmail(EmailConfig{SMTPAddr: addr, From: "Vigil <vigil@example.com>", To: []string{"oncall@example.com", "Lead <lead@example.com>"}})
	require.NoError(t, err)
	require.Equal(t, "email", e.Name())
	e.now = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

	for _, tt := range []struct {
		name, title, text, cte string
	}{
		{"korean", "[critical] 결제 API 응답 지연 (payment-api)", koReport, "base64"},
		{"english", "[critical] SlowSQL on checkout-api", "[Summary]\nSlow SQL.\n\n[Action plan]\n1. Add an index; a very long line " + strings.Repeat("x=y ", 40) + "\n", "quoted-printable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := "incident/" + tt.name + "-1"
			m := Message{IncidentID: id, Title: tt.title, Text: tt.text, URL: "https://vigil.example.com/incidents/1"}
			require.NoError(t, e.Send(context.Background(), m))
			got := b.messages()
			env := got[len(got)-1]
			require.Equal(t, "vigil@example.com", env.From)
			require.Equal(t, []string{"oncall@example.com", "lead@example.com"}, env.To)

			msg, body := readMessage(t, env.Data)
			h := msg.Header
			require.Equal(t, `"Vigil" <vigil@example.com>`, h.Get("From"))
			require.Equal(t, `<oncall@example.com>, "Lead" <lead@example.com>`, h.Get("To"))
			subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			require.NoError(t, err)
			require.Equal(t, tt.title, subj)
			require.Equal(t, "<incident/"+tt.name+"-1@vigil>", h.Get("Message-ID"))
			require.Equal(t, MessageID(id), h.Get("Message-ID"))
			d, err := h.Date()
			require.NoError(t, err)
			require.True(t, d.Equal(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)))
			require.Equal(t, "1.0", h.Get("MIME-Version"))
			require.Equal(t, "text/plain; charset=utf-8", h.Get("Content-Type"))
			require.Equal(t, tt.cte, h.Get("Content-Transfer-Encoding"))
			require.Equal(t, tt.text+"\nhttps://vigil.example.com/incidents/1\n", body)
			for _, line := range strings.Split(string(env.Data), "\r\n") {
				require.LessOrEqual(t, len(line), 998)
			}
		})
	}

	// A re-send is the same message.
	m := Message{IncidentID: "wf-1", Title: "t", Text: "x"}
	require.NoError(t, e.Send(context.Background(), m))
	require.NoError(t, e.Send(context.Background(), m))
	got := b.messages()
	require.Equal(t, got[len(got)-1].Data, got[len(got)-2].Data)
}

func TestEmailHeaderInjection(t *testing.T) {
	b := &backend{}
	e, err := NewEmail(EmailConfig{SMTPAddr: startSMTP(t, b, nil), From: "vigil@example.com", To: []string{"a@example.com"}})
	require.NoError(t, err)
	require.NoError(t, e.Send(context.Background(), Message{IncidentID: "a b>\r\nBcc: x@evil", Title: "hi\r\nBcc: evil@example.com", Text: "body"}))
	msg, _ := readMessage(t, b.messages()[0].Data)
	require.Empty(t, msg.Header.Get("Bcc"))
	require.Equal(t, "hi Bcc: evil@example.com", msg.Header.Get("Subject"))
	require.Equal(t, "<a=20b=3E=0D=0ABcc=3A=20x=40evil@vigil>", msg.Header.Get("Message-ID"))
}

func TestEmailErrors(t *testing.T) {
	m := Message{IncidentID: "wf-1", Title: "t", Text: "x"}
	for _, tt := range []struct {
		name      string
		b         *backend
		retryable bool
		want      string
	}{
		{"451 on data", &backend{failData: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}, true, "451"},
		{"550 on rcpt", &backend{failRcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}, false, "550"},
		{"552 on data", &backend{failData: &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "too big"}}, false, "552"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEmail(EmailConfig{SMTPAddr: startSMTP(t, tt.b, nil), From: "vigil@example.com", To: []string{"a@example.com"}})
			require.NoError(t, err)
			err = e.Send(context.Background(), m)
			var de *DeliveryError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "email", de.Channel)
			require.Equal(t, tt.retryable, de.Retryable, "%v", err)
			require.Equal(t, tt.retryable, IsRetryable(err))
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, tt.b.messages())
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		e, err := NewEmail(EmailConfig{SMTPAddr: addr, From: "vigil@example.com", To: []string{"a@example.com"}})
		require.NoError(t, err)
		require.True(t, IsRetryable(e.Send(context.Background(), m)))
	})

	t.Run("timeout", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never greets
		require.NoError(t, err)
		defer l.Close()
		e, err := NewEmail(EmailConfig{SMTPAddr: l.Addr().String(), From: "vigil@example.com", To: []string{"a@example.com"}, Timeout: 200 * time.Millisecond})
		require.NoError(t, err)
		start := time.Now()
		err = e.Send(context.Background(), m)
		require.True(t, IsRetryable(err), "%v", err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("starttls not offered", func(t *testing.T) {
		e, err := NewEmail(EmailConfig{SMTPAddr: startSMTP(t, &backend{}, nil), From: "vigil@example.com", To: []string{"a@example.com"}, StartTLS: true})
		require.NoError(t, err)
		err = e.Send(context.Background(), m)
		require.ErrorContains(t, err, "does not offer STARTTLS")
		require.False(t, IsRetryable(err))
	})

	t.Run("no incident id", func(t *testing.T) {
		e, err := NewEmail(EmailConfig{SMTPAddr: "127.0.0.1:1", From: "vigil@example.com", To: []string{"a@example.com"}})
		require.NoError(t, err)
		err = e.Send(context.Background(), Message{Title: "t"})
		require.ErrorContains(t, err, "no IncidentID")
		require.False(t, IsRetryable(err))
	})
}

func TestEmailStartTLSAndAuth(t *testing.T) {
	// httptest's certificate is valid for 127.0.0.1.
	ts := httptest.NewTLSServer(nil)
	defer ts.Close()
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())

	b := &backend{user: "vigil", pass: "s3cret"}
	addr := startSMTP(t, b, &tls.Config{Certificates: []tls.Certificate{cert}})
	e, err := NewEmail(EmailConfig{SMTPAddr: addr, From: "vigil@example.com", To: []string{"a@example.com"}, Username: "vigil", Password: "s3cret", StartTLS: true})
	require.NoError(t, err)
	e.tlsConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	require.NoError(t, e.Send(context.Background(), Message{IncidentID: "wf-tls", Title: "t", Text: "over TLS"}))
	require.Len(t, b.messages(), 1)
	require.Equal(t, "vigil", b.messages()[0].User)

	// The system roots do not trust the test certificate: permanent.
	e.tlsConfig = nil
	err = e.Send(context.Background(), Message{IncidentID: "wf-tls", Title: "t", Text: "x"})
	require.Error(t, err)
	require.False(t, IsRetryable(err), "%v", err)

	// Wrong password: SMTP 535, permanent.
	e, err = NewEmail(EmailConfig{SMTPAddr: addr, From: "vigil@example.com", To: []string{"a@example.com"}, Username: "vigil", Password: "wrong", StartTLS: true})
	require.NoError(t, err)
	e.tlsConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	err = e.Send(context.Background(), Message{IncidentID: "wf-tls", Title: "t", Text: "x"})
	require.ErrorContains(t, err, "535")
	require.False(t, IsRetryable(err))
	var de *DeliveryError
	require.True(t, errors.As(err, &de))
}

func TestNewEmailValidates(t *testing.T) {
	ok := EmailConfig{SMTPAddr: "smtp.example.com:587", From: "vigil@example.com", To: []string{"a@example.com"}}
	_, err := NewEmail(ok)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		edit func(*EmailConfig)
		want string
	}{
		{"addr", func(c *EmailConfig) { c.SMTPAddr = "smtp" }, "host:port"},
		{"from", func(c *EmailConfig) { c.From = "nope" }, "from"},
		{"no to", func(c *EmailConfig) { c.To = nil }, "at least one recipient"},
		{"bad to", func(c *EmailConfig) { c.To = []string{"x"} }, "to"},
		{"password without user", func(c *EmailConfig) { c.Password = "p" }, "username"},
	} {
		c := ok
		tt.edit(&c)
		_, err := NewEmail(c)
		require.ErrorContains(t, err, tt.want, tt.name)
	}
}
