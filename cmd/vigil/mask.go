package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigil-ops/vigil/mask"
)

// readVault loads a scope file; a missing file is an empty vault when create is true.
func readVault(path string, create bool) (*mask.Vault, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return mask.NewVault(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("scope file %s: %w", path, err)
	}
	v := mask.NewVault()
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("scope file %s is corrupt (not a vault written by vigil mask): %w", path, err)
	}
	return v, nil
}

// writeVault replaces the scope file atomically, readable by its owner only.
func writeVault(path string, v *mask.Vault) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vault-*")
	if err != nil {
		return fmt.Errorf("scope file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maskCmd: vigil mask [--scope FILE] — stdin to stdout, the vault to FILE (created or extended).
func maskCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("vigil mask", flag.ContinueOnError)
	scope := fs.String("scope", "", "vault file to create or extend (mode 0600); without it the tokens cannot be reversed")
	explain := fs.Bool("explain", false, "list what would be masked (kind and value) instead of masking")
	var suffixes stringList
	fs.Var(&suffixes, "internal-suffix", "host-name suffix to mask (repeatable), e.g. .corp.example.com")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	m, err := mask.New(mask.Options{InternalSuffixes: suffixes})
	if err != nil {
		return err
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	if *explain {
		for _, x := range m.Find(string(in)) {
			fmt.Fprintf(stdout, "%d-%d\t%s\t%s\n", x.Start, x.End, x.Kind, x.Value)
		}
		return nil
	}
	v := mask.NewVault()
	if *scope != "" {
		if v, err = readVault(*scope, true); err != nil {
			return err
		}
	}
	out := m.Mask(v, string(in))
	if *scope != "" {
		if err := writeVault(*scope, v); err != nil {
			return err
		}
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// unmaskCmd: vigil unmask --scope FILE — restores the scope's tokens in stdin.
func unmaskCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("vigil unmask", flag.ContinueOnError)
	scope := fs.String("scope", "", "vault file written by vigil mask (required)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *scope == "" {
		return usageError{errors.New("--scope FILE is required")}
	}
	v, err := readVault(*scope, false)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, mask.Unmask(v, string(in)))
	return err
}

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
