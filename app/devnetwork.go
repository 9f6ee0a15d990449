package app

import (
	"fmt"
	"net"
	"strings"

	"github.com/vigil-ops/vigil/config"
)

// UnauthenticatedTemporalFlag is the `vigil dev` flag that lets the embedded Temporal frontend
// and Web UI listen on a non-loopback address. Its name says what it does: neither asks for
// credentials, so anyone who can reach the address can read, signal or terminate workflows.
const UnauthenticatedTemporalFlag = "unauthenticated-temporal-on-network"

// CheckDevNetwork refuses a `vigil dev` configuration whose embedded Temporal frontend or Web UI
// would listen on a non-loopback address, unless allowed is set (UnauthenticatedTemporalFlag).
// The embedded server has no authentication: on loopback only the developer's own processes
// reach it. It returns the addresses exposed when allowed, for a warning.
func CheckDevNetwork(cfg *config.Config, allowed bool) (exposed []string, err error) {
	for _, a := range []struct{ name, flag, addr string }{
		{"the Temporal frontend", "--temporal", cfg.Temporal.Address},
		{"the Temporal Web UI", "--ui", cfg.Dev.UIAddress},
	} {
		if _, _, err := net.SplitHostPort(a.addr); a.addr == "" || err != nil || devLoopback(a.addr) {
			continue // a malformed address is reported by devserver.Start
		}
		if !allowed {
			return nil, fmt.Errorf("refusing to serve %s on %s (%s): it has no authentication, so anyone on the network could read, signal or terminate workflows; use a loopback address such as 127.0.0.1, or add --%s if that is really wanted",
				a.name, a.addr, a.flag, UnauthenticatedTemporalFlag)
		}
		exposed = append(exposed, a.name+" on "+a.addr)
	}
	return exposed, nil
}

// devLoopback reports whether addr (host:port) listens on loopback only. An empty host is
// loopback because the embedded server binds it to 127.0.0.1.
func devLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
