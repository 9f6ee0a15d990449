// Package githubtest is an in-memory GitHub REST API for one repository, for tests of ghclient.
package githubtest
