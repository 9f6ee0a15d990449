// Package ghclient reads a GitHub repository's branch and opens pull requests with changed files, idempotently by branch name.
package ghclient
