// Package amsource reads alerts from Alertmanager's HTTP API v2.
package amsource
