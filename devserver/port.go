package devserver

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a free TCP port on host. It connects to the port once and closes
// the server side first, which parks the port in TIME_WAIT so the kernel does not hand it out
// again before the server binds it (the same trick the Temporal CLI's dev server uses).
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer c.Close()
	sc, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	_ = sc.Close()
	return port, nil
}

func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}
