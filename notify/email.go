package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// EmailConfig configures [NewEmail].
type EmailConfig struct {
	// SMTPAddr is the relay host:port.
	SMTPAddr string
	// From is the sender address, e.g. "Vigil <vigil@example.com>".
	From string
	// To are the recipients; at least one.
	To []string
	// Username and Password log in with SMTP AUTH PLAIN when Username is
	// set. net/smtp sends them only over TLS or to localhost.
	Username, Password string
	// StartTLS upgrades the connection with STARTTLS; the relay must
	// offer it.
	StartTLS bool
	// Timeout bounds one delivery (connection and conversation);
	// 0 means 30s. A context deadline that is sooner wins.
	Timeout time.Duration
}

// Email sends messages through an SMTP relay.
type Email struct {
	addr, host string
	from       *mail.Address
	to         []*mail.Address
	user, pass string
	startTLS   bool
	timeout    time.Duration
	tlsConfig  *tls.Config // nil: verify against the system roots for host
	now        func() time.Time
}

var _ Channel = (*Email)(nil)

// NewEmail checks c and returns an e-mail channel. It does not connect.
func NewEmail(c EmailConfig) (*Email, error) {
	host, port, err := net.SplitHostPort(c.SMTPAddr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("notify email: SMTP address must be host:port, got %q", c.SMTPAddr)
	}
	from, err := parseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("notify email: from: %w", err)
	}
	if len(c.To) == 0 {
		return nil, errors.New("notify email: at least one recipient is required")
	}
	to := make([]*mail.Address, 0, len(c.To))
	for _, s := range c.To {
		a, err := parseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("notify email: to: %w", err)
		}
		to = append(to, a)
	}
	if c.Username == "" && c.Password != "" {
		return nil, errors.New("notify email: a password needs a username")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Email{addr: c.SMTPAddr, host: host, from: from, to: to, user: c.Username, pass: c.Password,
		startTLS: c.StartTLS, timeout: timeout, now: time.Now}, nil
}

func parseAddress(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || strings.ContainsAny(a.Address, "\r\n<>") {
		return nil, fmt.Errorf("invalid e-mail address %q", s)
	}
	return a, nil
}

// Name returns "email".
func (e *Email) Name() string { return "email" }

// Send delivers m to every recipient in one SMTP transaction. A re-sent
// incident carries the same Message-ID.
func (e *Email) Send(ctx context.Context, m Message) error {
	if err := checkMessage("email", m); err != nil {
		return err
	}
	msg := e.compose(m)
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := e.deliver(ctx, msg); err != nil {
		switch {
		case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		case errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded):
			// the connection deadline (the context's) fired first
			err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
		return &DeliveryError{Channel: "email", Retryable: smtpRetryable(err), Err: err}
	}
	return nil
}

// errConfig marks failures that retrying cannot fix.
var errConfig = errors.New("SMTP relay configuration")

func (e *Email) deliver(ctx context.Context, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(helloName(e.from.Address)); err != nil {
		return err
	}
	if e.startTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%w: %s does not offer STARTTLS (set starttls: false for a relay without TLS)", errConfig, e.addr)
		}
		cfg := e.tlsConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: e.host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	}
	if e.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("%w: %s does not offer AUTH but a username is configured", errConfig, e.addr)
		}
		if err := c.Auth(smtp.PlainAuth("", e.user, e.pass, e.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return err
	}
	for _, a := range e.to {
		if err := c.Rcpt(a.Address); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_ = c.Quit() // the message is accepted; a failed QUIT does not matter
	return nil
}

// helloName is the EHLO name: the sender's domain is as good as any and
// better than net/smtp's "localhost", which some relays refuse.
func helloName(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i+1 < len(from) {
		d := from[i+1:]
		if !strings.ContainsAny(d, " \t\r\n[]") {
			return d
		}
	}
	return "localhost"
}

// smtpRetryable: SMTP 4xx and connection problems are worth retrying;
// SMTP 5xx, certificate and configuration problems are not.
func smtpRetryable(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var cve *tls.CertificateVerificationError
	var hn x509.HostnameError
	var ua x509.UnknownAuthorityError
	if errors.Is(err, errConfig) || errors.As(err, &cve) || errors.As(err, &hn) || errors.As(err, &ua) {
		return false
	}
	return isNetErr(err)
}

// MessageID returns the Message-ID header value used for an incident:
// <IncidentID@vigil>, with bytes not allowed in a message ID written as
// =XX so that the mapping stays one-to-one.
func MessageID(incidentID string) string {
	var b strings.Builder
	b.WriteByte('<')
	for i := 0; i < len(incidentID); i++ {
		c := incidentID[i]
		if isAtext(c) && c != '=' || c == '.' && i > 0 && i < len(incidentID)-1 && incidentID[i-1] != '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	b.WriteString("@vigil>")
	return b.String()
}

// isAtext reports whether c is RFC 5322 atext.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// compose builds the RFC 5322 message with CRLF line endings.
func (e *Email) compose(m Message) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", e.from.String())
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", encodeHeader(subject(m)))
	hdr("Date", e.now().Format(time.RFC1123Z))
	hdr("Message-ID", MessageID(m.IncidentID))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Vigil-Incident", encodeHeader(oneLine(m.IncidentID)))

	body := m.Text
	if m.URL != "" && !strings.Contains(body, m.URL) {
		body = strings.TrimRight(body, "\r\n") + "\n\n" + m.URL + "\n"
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	if mostlyASCII(body) {
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		w := quotedprintable.NewWriter(&b)
		_, _ = w.Write([]byte(body))
		_ = w.Close()
	} else {
		hdr("Content-Transfer-Encoding", "base64")
		b.WriteString("\r\n")
		enc := base64.StdEncoding.EncodeToString([]byte(body))
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	return b.Bytes()
}

func subject(m Message) string {
	s := oneLine(m.Title)
	if s == "" {
		s = "Vigil incident " + oneLine(m.IncidentID)
	}
	return truncate(s, 200)
}

// oneLine collapses white space, including line breaks (no header
// injection).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// encodeHeader RFC 2047-encodes a header value when it is not plain ASCII.
func encodeHeader(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func mostlyASCII(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	return n*10 <= len(s)
}
