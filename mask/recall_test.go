package mask

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/publicsuffix"
)

// TestRecallHostOutsideItsURL is the hand-written profile that leaked: the URL's host was masked,
// the same host named again without a scheme went out in clear. Within one scope (vault) it is
// masked wherever it occurs, in the same text and in later ones, with the URL's tokens.
func TestRecallHostOutsideItsURL(t *testing.T) {
	m := testMasker(t)
	r := rand.New(rand.NewSource(1))
	v := NewVault()
	first := m.MaskWithRand(v, "push failed: POST http://push-gateway.loyalty.svc:8080/metrics/job/batch 503; "+
		"partner GET https://api.partner-air.travel/v2/fares timed out", r)
	second := m.MaskWithRand(v, "remote push-gateway.loyalty.svc:8080 refused; retried via push-gateway, "+
		"then the partner host api.partner-air.travel (partner-air.travel) answered", r)
	for _, out := range []string{first, second} {
		for _, leak := range []string{"push-gateway", "loyalty", "partner-air"} {
			require.NotContains(t, out, leak, out)
		}
		require.Contains(t, out, ".svc:8080")
		require.Contains(t, out, ".travel")
	}
	tok, ok := v.tokenOf("push-gateway")
	require.True(t, ok)
	require.Contains(t, second, tok+".", "the host outside the URL has the URL's token")
	require.Equal(t, "remote push-gateway.loyalty.svc:8080 refused; retried via push-gateway, "+
		"then the partner host api.partner-air.travel (partner-air.travel) answered", Unmask(v, second))

	// In one text, before and after the URL.
	for i, in := range []string{
		"db host billing-db-7 unreachable (jdbc:postgresql://billing-db-7:5432/ledger?password=Xy7!kq9z), billing-db-7 down; ledger locked; Xy7!kq9z rejected",
		"ledger on billing-db-7 first, then jdbc:postgresql://billing-db-7:5432/ledger",
	} {
		out := checkMasked(t, m, in, rand.New(rand.NewSource(int64(i))))
		for _, leak := range []string{"billing-db-7", "ledger", "Xy7!kq9z"} {
			require.NotContains(t, out, leak, out)
		}
	}
}

// TestRecallKeepsContext: values that are short, dates or plain small numbers are masked where a
// recogniser finds them only; a URL scheme that equals a host label stays.
func TestRecallKeepsContext(t *testing.T) {
	m := testMasker(t)
	out := checkMasked(t, m, "SELECT * FROM logs WHERE day = '2026-11-26' AND n = 2026; at 2026-11-26T09:00:00Z took 2026 ms", rand.New(rand.NewSource(1)))
	require.Contains(t, out, "at 2026-11-26T09:00:00Z took 2026 ms")
	out = checkMasked(t, m, "mongodb+srv://bob:pw@cluster0.mongodb.net/app and mongodb+srv://cluster0.mongodb.net/x", rand.New(rand.NewSource(1)))
	require.Equal(t, 2, strings.Count(out, "mongodb+srv://"), out)
}

// TestPrivateSuffixesByDefault: Kubernetes service names and the private-use suffixes are
// internal hosts without configuration, also for a nil Masker.
func TestPrivateSuffixesByDefault(t *testing.T) {
	plain, err := New(Options{})
	require.NoError(t, err)
	for _, m := range []*Masker{nil, plain} {
		for _, c := range []struct{ in, keep string }{
			{"push-gateway.loyalty.svc:8080", ".svc:8080"},
			{"orders.shop.svc.cluster.local", ".svc.cluster.local"},
			{"ledger.data.internal", ".internal"},
			{"printer.local", ".local"},
			{"build01.corp", ".corp"},
			{"nas.lan", ".lan"},
			{"router.home.arpa", ".home.arpa"},
		} {
			v := NewVault()
			out := m.Mask(v, "connect to "+c.in+" failed")
			require.NotContains(t, out, c.in[:strings.Index(c.in, ".")], "%s → %s", c.in, out)
			require.Contains(t, out, c.keep, "%s → %s", c.in, out)
			require.Equal(t, "connect to "+c.in+" failed", Unmask(v, out))
		}
	}
}

// TestPublicSuffixList: the public suffix kept after the masked labels comes from the public
// suffix list, in URLs and outside them; a name with three labels under any listed TLD is a
// host; files and identifiers are not.
func TestPublicSuffixList(t *testing.T) {
	m := testMasker(t)
	for _, c := range []struct{ in, gone, keep string }{
		{"https://api.partner-air.travel/v2", "partner-air", ".travel/v2"},
		{"host api.partner-air.travel slow", "partner-air", ".travel slow"},
		{"http://shop.example.co.kr/x", "example", ".co.kr/x"},
		{"https://build.acme.github.io/", "acme", ".github.io/"},
		{"http://grafana.mycorp:3000/d", "mycorp", ":3000/d"},
	} {
		out := m.Mask(NewVault(), c.in)
		require.NotContains(t, out, c.gone, "%s → %s", c.in, out)
		require.Contains(t, out, c.keep, "%s → %s", c.in, out)
	}
	for _, in := range []string{"see README.md", "run deploy-app.sh", "o.id = u.id", "spring.mail.host=x", "user.profile.name", "main.py"} {
		require.Empty(t, m.Find(in), in)
	}
	for tld := range hostTLDs {
		ps, icann := publicsuffix.PublicSuffix(tld)
		require.True(t, icann && ps == tld, "hostTLDs: %q is an ICANN TLD of the public suffix list", tld)
	}
}
