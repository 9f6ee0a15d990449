package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// devDataDir prepares `vigil dev`'s data directory: created (or tightened) to mode 0700, since it
// holds the codec key and both databases, and locked for this process, so that a second
// `vigil dev` on the same directory stops at once with one line instead of sharing the SQLite
// files with the first. The returned file holds the lock until it is closed.
func devDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s cannot be created (%v): choose another with --data-dir", dir, unwrapPath(err))
	}
	// A directory that is Vigil's (it was just created, or holds Vigil's files) is narrowed to
	// its owner; a directory of the user's own choosing (--data-dir .) keeps its mode, its
	// Vigil files are 0600 anyway.
	if ours, err := vigilDir(dir); err != nil {
		return nil, fmt.Errorf("data dir %s is not readable (%v): choose another with --data-dir", dir, unwrapPath(err))
	} else if ours {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir %s: %v: choose a directory you own with --data-dir", dir, unwrapPath(err))
		}
	}
	path := filepath.Join(dir, "vigil.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir %s is not writable (%v): fix its permissions or choose another with --data-dir", dir, unwrapPath(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		_ = f.Close()
		who := "another vigil dev"
		if pid := strings.TrimSpace(string(b)); pid != "" {
			who += " (pid " + pid + ")"
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by %s: stop it, or start this one with another --data-dir", dir, who)
		}
		return nil, fmt.Errorf("data dir %s: lock %s: %v", dir, path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// vigilDir reports whether dir holds nothing but what `vigil dev` puts there.
func vigilDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case n == "vigil.lock", n == "codec.key", strings.HasPrefix(n, "vigil.db"), strings.HasPrefix(n, "temporal.db"):
		default:
			return false, nil
		}
	}
	return true, nil
}

// unwrapPath drops the operation and path of an *os.PathError, which the message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
